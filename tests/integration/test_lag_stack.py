"""The Kafka lag on the real stack (``analysis.lag.read``, ``profilepipe lag``), on a topic of its own.

Messages are sent with known timestamps (two hours ago, one second apart, per partition), so
the oldest unread message of each partition, its age and the retention margin are exact. A
checkpoint in Spark's format (``offsets/0``, ``commits/0``, ``sources/0/0``) puts the stream
at a chosen offset without running Spark; ``DeleteRecords`` then moves a partition's log
start past it, and the messages between are counted as already lost.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from kafka import TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from profilepipe import cli, kafka_client
from profilepipe.analysis import lag
from profilepipe.config import Settings
from profilepipe.connections import kafka_options

PER_PARTITION = {0: 12, 1: 7, 2: 0}  # messages sent to each partition (2 stays empty)
BASE = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)


def stamp(partition: int, offset: int) -> int:
    """The timestamp (ms) given to the message at ``offset`` of ``partition``."""
    return int(BASE.timestamp() * 1000) + partition * 100_000 + offset * 1000


@pytest.fixture(scope="module")
def topic(isolated):
    settings = isolated("lag")
    producer = kafka_client.make_producer(settings)
    try:
        assert kafka_client.partitions_of(settings, producer, settings.kafka_topic) == [0, 1, 2]
        for partition, count in PER_PARTITION.items():
            for offset in range(count):
                producer.send(settings.kafka_topic, value=b"{}", key=f"k{offset}".encode(),
                              partition=partition, timestamp_ms=stamp(partition, offset))  # fmt: skip
        producer.flush()
    finally:
        producer.close(timeout=10)
    return settings


def write_checkpoint(root: Path, topic: str, positions: dict[int, int]) -> None:
    """A committed batch 0 that ends at ``positions``, in Spark's checkpoint format."""
    for folder in ("offsets", "commits", "sources/0"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    meta = {"batchWatermarkMs": 0, "batchTimestampMs": 0, "conf": {}}
    ends = json.dumps({topic: {str(p): o for p, o in positions.items()}})
    (root / "offsets" / "0").write_text(f"v1\n{json.dumps(meta)}\n{ends}")
    (root / "commits" / "0").write_text('v1\n{"nextBatchWatermarkMs":0}')
    (root / "sources" / "0" / "0").write_text(
        "\x00v1\n" + json.dumps({topic: {str(p): 0 for p in positions}})
    )


def test_before_the_stream_starts_every_message_waits(topic):
    assert not Path(topic.checkpoint_dir).exists()
    report = lag.read(topic)
    assert not report.started and report.lost == 0
    assert report.waiting == sum(PER_PARTITION.values()) == 19
    by = {p.partition: p for p in report.partitions}
    assert [by[p].waiting for p in (0, 1, 2)] == [12, 7, 0]
    assert by[0].oldest_at == dt.datetime.fromtimestamp(stamp(0, 0) / 1000, dt.UTC)
    assert by[1].oldest_at == dt.datetime.fromtimestamp(stamp(1, 0) / 1000, dt.UTC)
    assert by[2].oldest_at is None and by[2].age is None
    assert report.retention_ms == 7 * 24 * 3600 * 1000  # the stack's broker default (log.retention.hours)
    assert report.age == report.now - report.oldest_at
    assert report.margin == dt.timedelta(days=7) - report.age
    assert report.line().startswith(
        f"topic {topic.kafka_topic}: the stream has not started; 19 messages wait"
    )


def test_a_checkpoint_behind_a_moved_log_start_counts_the_lost_messages_exactly(topic, tmp_path):
    settings = topic.replace(checkpoint_dir=str(tmp_path / "ckpt"))
    write_checkpoint(Path(settings.checkpoint_dir), settings.kafka_topic, {0: 2, 1: 7, 2: 0})
    report = lag.read(settings)
    assert report.started and (report.waiting, report.lost) == (10, 0)  # 12 - 2 in partition 0
    assert report.partitions[0].oldest_at == dt.datetime.fromtimestamp(stamp(0, 2) / 1000, dt.UTC)

    admin = KafkaAdminClient(**kafka_options(settings), client_id="profilepipe-test-lag")
    try:
        admin.delete_records({TopicPartition(settings.kafka_topic, 0): 9})  # offsets 0..8 deleted
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.kafka_topic, {"retention.ms": "86400000"})]
        )
    finally:
        admin.close()
    report = lag.read(settings)
    p0 = report.partitions[0]
    assert (p0.log_start, p0.position, p0.lost, p0.waiting) == (9, 2, 7, 3)  # 2..8 lost, 9..11 wait
    assert p0.oldest_at == dt.datetime.fromtimestamp(stamp(0, 9) / 1000, dt.UTC)
    assert report.lost == 7 and report.waiting == 3
    assert report.retention_ms == 86_400_000  # the topic's own setting now
    assert dt.timedelta(hours=1, minutes=59) <= p0.age < dt.timedelta(hours=2, minutes=10)
    assert p0.margin == dt.timedelta(days=1) - p0.age
    old, left = lag.human(p0.age), lag.human(p0.margin)
    assert f"3 messages wait (oldest {old} old, retention 1 d: may be deleted in {left})" in report.line()
    assert report.line().endswith("; 7 already lost before the stream read them (partition 0: 7)")


def test_profilepipe_lag_prints_the_table_and_the_line(topic, monkeypatch, capsys):
    monkeypatch.setenv(Settings.env_name("kafka_topic"), topic.kafka_topic)
    assert cli.main(["lag", "--checkpoint-dir", topic.checkpoint_dir]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["partition", "log", "start"] and len(out) == 1 + 3 + 1
    assert out[-1].startswith(f"topic {topic.kafka_topic}: the stream has not started; ")


def test_profilepipe_lag_says_in_one_line_that_kafka_does_not_answer(monkeypatch, capsys):
    from support.browser import free_port

    monkeypatch.setenv(Settings.env_name("kafka_bootstrap"), f"127.0.0.1:{free_port()}")  # nobody listens
    assert cli.main(["lag"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and err[0].startswith("error: Kafka at 127.0.0.1:") and "profilepipe stack up" in err[0]
    )
