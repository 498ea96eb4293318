"""profilepipe: randomuser.me -> Kafka -> Spark Structured Streaming -> Cassandra + MongoDB."""

__version__ = "0.1.0"
