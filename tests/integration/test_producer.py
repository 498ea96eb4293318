"""The producer against the real local Kafka: what goes in comes back, key = login.uuid."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from profilepipe import kafka_client
from profilepipe.errors import ProducerError
from profilepipe.kafka_client import read_to_end
from profilepipe.sources import generator, producer
from profilepipe_stack import stack

AS_OF = dt.date(2026, 6, 1)


@pytest.fixture
def topic_settings(settings):
    s = settings.replace(kafka_topic=f"it_producer_{uuid.uuid4().hex[:8]}", kafka_partitions=3)
    stack.ensure_topics(s)
    yield s
    kafka_client.delete_topics(s, [s.kafka_topic, s.dlq_topic])


def test_users_round_trip(topic_settings):
    s = topic_settings
    users = generator.generate_users(
        200, seed="it-producer", minor_share=0.1, long_address_share=0.1, as_of=AS_OF
    )
    summary = producer.produce(users, s, progress=False)

    assert (summary.topic, summary.sent, summary.failed, summary.errors) == (s.kafka_topic, 200, 0, [])
    assert sum(summary.partitions.values()) == 200 and set(summary.partitions) <= {0, 1, 2}
    assert len(summary.partitions) == 3  # 200 uuids spread over the 3 partitions
    assert summary.seconds > 0 and summary.users_per_s == pytest.approx(200 / summary.seconds)
    assert summary.bytes == sum(len(producer.user_key(u)) + len(producer.user_value(u)) for u in users)
    assert kafka_client.end_offsets(s) == summary.partitions

    records = read_to_end(s, s.kafka_topic)
    assert len(records) == 200
    by_key = {r.key.decode("utf-8"): r for r in records}
    assert set(by_key) == {u["login"]["uuid"] for u in users}
    for u in users:
        record = by_key[u["login"]["uuid"]]
        assert json.loads(record.value.decode("utf-8")) == u  # same user, key order included
        assert list(json.loads(record.value)) == list(u)
        assert summary.partitions[record.partition] > 0
    # non-ASCII travels as UTF-8, not as \\u escapes
    persian = next(u for u in users if u["nat"] == "IR")
    assert persian["name"]["first"].encode("utf-8") in by_key[persian["login"]["uuid"]].value
    # same key -> same partition on a second send (murmur2 partitioner, like the Java client)
    again = producer.produce(users[:20], s, progress=False)
    assert again.sent == 20
    after = read_to_end(s, s.kafka_topic)
    parts = {}
    for r in after:
        parts.setdefault(r.key, set()).add(r.partition)
    assert all(len(p) == 1 for p in parts.values())


def test_envelopes_extra_and_raw_messages(topic_settings):
    s = topic_settings
    env = generator.generate_envelope(30, seed="it-env", as_of=AS_OF)
    bad = generator.malformed_messages(12, seed="it-bad")
    summary = producer.produce(
        [env, *generator.generate_users(5, seed="it-more", as_of=AS_OF)],
        s,
        progress=False,
        extra_messages=bad,
    )
    assert (summary.sent, summary.extra_sent, summary.failed) == (35, 12, 0)
    raw = kafka_client.produce_raw([(m["key"], m["value"]) for m in bad[:4]], s)
    assert (raw.sent, raw.failed) == (4, 0)

    records = read_to_end(s, s.kafka_topic)
    assert len(records) == 51
    values = [r.value for r in records]
    for m in bad:
        assert m["value"] in values
    user_keys = {u["login"]["uuid"].encode() for u in env["results"]}
    assert user_keys <= {r.key for r in records}
    no_key = sum(m["key"] is None for m in bad) + sum(m["key"] is None for m in bad[:4])
    assert sum(r.key is None for r in records) == no_key


def test_rate_limit(topic_settings):
    users = generator.generate_users(300, seed="it-rate", as_of=AS_OF)
    summary = producer.produce(users, topic_settings, rate=1000, progress=False)
    assert summary.sent == 300
    assert 0.2 <= summary.seconds < 5  # 300 at 1000/s with a 100-message burst: >= 0.2 s


def test_missing_topic_fails_clearly(settings):
    s = settings.replace(kafka_topic=f"it_missing_{uuid.uuid4().hex[:8]}")
    p = kafka_client.make_producer(s, max_block_ms=2000)
    try:
        with pytest.raises(ProducerError, match="not available"):
            producer.produce(generator.generate_users(1, as_of=AS_OF), s, progress=False, producer=p)
    finally:
        p.close()
    assert kafka_client.end_offsets(s) == {}


def test_user_without_uuid_is_refused(topic_settings):
    user = generator.generate_users(1, as_of=AS_OF)[0]
    del user["login"]["uuid"]
    with pytest.raises(ProducerError, match="login.uuid"):
        producer.produce([user], topic_settings, progress=False)


def test_background_encoding_sends_the_same_messages(topic_settings):
    users = generator.generate_users(6000, seed="it-background", as_of=AS_OF)
    summary = producer.produce(users, topic_settings, progress=False, background_encode=True)
    assert (summary.sent, summary.failed) == (6000, 0)
    records = read_to_end(topic_settings, topic_settings.kafka_topic)
    assert len(records) == 6000
    expected = {producer.user_key(u): producer.user_value(u) for u in users}
    assert {r.key: r.value for r in records} == expected
    parts = sorted(summary.partitions)
    assert all(r.partition == producer.partition_for(r.key, parts) for r in records)


def test_partition_for_matches_the_default_partitioner():
    from kafka.partitioner.default import DefaultPartitioner

    class Cluster:
        def topics(self):
            return {"t"}

        def partitions_for_topic(self, topic):
            return {0, 1, 2, 3, 4}

        def available_partitions_for_topic(self, topic):
            return {0, 1, 2, 3, 4}

    dp, cluster = DefaultPartitioner(), Cluster()
    for u in generator.generate_users(300, seed="murmur", as_of=AS_OF):
        key = producer.user_key(u)
        expected = dp.partition("t", None, key, None, None, cluster)
        assert producer.partition_for(key, [0, 1, 2, 3, 4]) == expected
