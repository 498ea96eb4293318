"""``PROFILEPIPE_CASSANDRA_CONSISTENCY`` reaches every Cassandra request, on the running stack.

The local stack is one node, so a level that needs three replicas cannot be met: Cassandra
answers "unavailable" to the rows' writes (the Java driver) and to the erasure register's read
(cassandra-driver), which shows each of them sends the configured level (the default,
LOCAL_QUORUM, is one replica of one here: every other integration test runs with it).
"""

from __future__ import annotations

import pytest

from profilepipe import stores
from profilepipe.pipeline import transform
from profilepipe.pipeline.spark import get_spark
from profilepipe.sources import generator
from profilepipe.stores import cassandra_jvm

from support.frames import kafka_frame

AS_OF = "2026-01-15"


@pytest.fixture(scope="module")
def rows(settings):
    spark = get_spark(settings)
    users = generator.generate_users(5, seed="consistency", minor_share=0.0, as_of=AS_OF)
    raw = kafka_frame(spark, users, keys=[u["login"]["uuid"].encode() for u in users])
    shaped = transform.assemble(raw, settings.replace(as_of=AS_OF))
    return transform.stored_rows(shaped).persist()


@pytest.fixture
def three(isolated):
    """A table of its own, read and written at THREE on a one-node cluster, retried for 1 s."""
    base = isolated("consistency")
    return base.replace(cassandra_consistency="THREE", sink_retry_seconds=1.0)


def test_the_register_uses_the_level(three):
    with pytest.raises(Exception, match="(?i)unavailable|Cannot achieve consistency level THREE"):
        stores.connect(three).cassandra.erased_keys()
    assert stores.connect(three.replace(cassandra_consistency="ONE")).cassandra.erased_keys() == set()


def test_the_rows_writer_uses_the_level(rows, three):
    with pytest.raises(Exception, match="(?i)unavailable|Not enough replicas"):
        cassandra_jvm.write_cassandra_jvm(rows, three)
    assert cassandra_jvm.write_cassandra_jvm(rows, three.replace(cassandra_consistency="LOCAL_QUORUM")) == 5
