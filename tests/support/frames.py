"""The Kafka-shaped raw frame of the Spark tests: ``contract.RAW_KAFKA_SCHEMA`` rows from values.

Message ``i`` is at offset ``i`` of one partition, with the timestamp ``TS``; values are
encoded like a producer would: dicts/lists -> JSON, str -> UTF-8, bytes (and None) as they are.
"""

from __future__ import annotations

import datetime as dt
import json

from profilepipe.contract import RAW_KAFKA_SCHEMA

TS = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def to_bytes(value) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def kafka_frame(spark, values, keys=None, topic: str = "users", partition: int = 0, first_offset: int = 0):
    """A static DataFrame shaped like the Kafka source's rows (``contract.RAW_KAFKA_SCHEMA``)."""
    rows = [
        ((keys[i] if keys else None), to_bytes(v), topic, partition, first_offset + i, TS)
        for i, v in enumerate(values)
    ]
    return spark.createDataFrame(rows, RAW_KAFKA_SCHEMA)
