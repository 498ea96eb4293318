"""The stream: the v1.4 schema, the transform (validation, exact age, GDPR split), hashing, the
batch writer and the streaming query. ``report`` and ``gaps`` import no pyspark; the read side
(``profilepipe.analysis``) may import them, and the pipeline imports nothing from it.
"""
