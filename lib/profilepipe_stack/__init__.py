"""The local stack without Docker: Kafka, Cassandra and a MongoDB-compatible server from Maven
jars, one ``Service`` per server (``services``); the facade is ``profilepipe_stack.stack``.
"""
