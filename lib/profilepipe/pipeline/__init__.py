"""The Spark side: the v1.4 schema, the transform (validation, exact age, GDPR split), hashing,
aggregates, the streaming query and the same transform on files.
"""
