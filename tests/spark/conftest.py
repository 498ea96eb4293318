"""The Spark tier: one local Spark session for the whole run, no servers.

``local[2]``, two shuffle partitions, no UI, UTC, quiet logs. The session is built by
``profilepipe.pipeline.spark.get_spark`` (the same builder the pipeline uses), so the tests
also exercise it. The folder is the tier (``tests/conftest.py`` marks these tests ``spark``).
``raw`` builds Kafka-shaped DataFrames (``support.frames.kafka_frame``); the users and
settings fixtures are in ``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

from support.frames import kafka_frame


@pytest.fixture(scope="session")
def spark(settings):
    from profilepipe.pipeline.spark import get_spark

    session = get_spark(settings, app_name="profilepipe-spark-tests", log_level="ERROR")
    yield session
    session.stop()


@pytest.fixture
def raw(spark):
    """A factory: Kafka-shaped DataFrame of messages (dicts/lists -> JSON, str -> UTF-8, bytes as is)."""

    def make(values, topic="users", partition=0, keys=None):
        return kafka_frame(spark, values, keys=keys, topic=topic, partition=partition)

    return make
