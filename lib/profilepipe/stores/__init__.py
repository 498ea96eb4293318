"""Where the stream's results go: Cassandra rows, MongoDB aggregates and batch log, the dead-letter
topic, the erasure register.
"""
