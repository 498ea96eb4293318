"""The local stack without Docker: Kafka, Cassandra and a MongoDB-compatible server from Maven
jars.
"""
