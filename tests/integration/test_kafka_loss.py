"""Offsets Kafka drops before the stream reads them, on the real stack (``pipeline.gaps``).

A stream is stopped; users are sent; Kafka then drops the first half of each partition's
unread messages (``DeleteRecords``: what ``retention.ms`` does to a stream stopped too long).
By default the next stream stops with one line naming every range, before it writes
anything; ``--accept-loss`` records them and goes on; with ``PROFILEPIPE_ON_DATA_LOSS=record``
it goes on by itself and the audit reports the loss (exit 3) until it is acknowledged. In
every batch, the offsets its plan covers are the messages it read plus those lost. A topic
deleted and created again under the same name is found by its id: its messages are read from
its first one, under batch keys of their own. The normal path reports nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaAdminClient, TopicPartition

from profilepipe import cli, kafka_client, stores
from profilepipe.config import Settings
from profilepipe.errors import DataLoss
from profilepipe.pipeline import gaps, stream
from profilepipe.sources import generator, producer
from profilepipe.tools import audit
from profilepipe_stack import stack

AS_OF = "2026-06-01"
KEY = "loss-test-key-not-a-secret"


def _users(n: int, seed: str) -> list[dict]:
    return generator.generate_users(n, seed=seed, minor_share=0.0, as_of=AS_OF)


def _send(settings, users) -> None:
    assert producer.produce(users, settings, progress=False).failed == 0


def _drop_half_of_the_unread(settings) -> dict[int, tuple[int, int]]:
    """DeleteRecords up to the middle of each partition's unread messages: ``{p: (from, to)}`` lost."""
    position = gaps.committed_offsets(settings.checkpoint_dir)
    ends = kafka_client.end_offsets(settings)
    cut = {p: (position[(settings.kafka_topic, p)], position[(settings.kafka_topic, p)]) for p in ends}
    cut = {p: (lo, lo + (ends[p] - lo) // 2) for p, (lo, _) in cut.items()}
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.delete_records({TopicPartition(settings.kafka_topic, p): hi for p, (_, hi) in cut.items()})
    finally:
        admin.close()
    return {p: span for p, span in cut.items() if span[1] > span[0]}


def _lost_ranges(settings) -> list[tuple[int, int, int, str, bool]]:
    return sorted(
        (g["partition"], g["start"], g["end"], g["cause"], bool(b.get("lost_acknowledged")))
        for b in stores.connect(settings).mongo.read_batches()
        for g in b.get("lost_ranges", [])
    )


def _use(monkeypatch, settings) -> None:
    """The CLI reads its settings from the environment: point it at this test's pipeline."""
    for name in ("kafka_topic", "cassandra_table", "mongo_collection", "checkpoint_dir", "as_of", "pii_mode"):
        monkeypatch.setenv(Settings.env_name(name), str(getattr(settings, name)))
    monkeypatch.setenv(Settings.env_name("hmac_key"), KEY)


@pytest.fixture(scope="module")
def lossy(isolated):
    return isolated("loss", pii_mode="hmac", hmac_key=KEY, as_of=AS_OF, max_offsets_per_trigger=60)


def test_messages_dropped_while_the_stream_was_stopped_are_counted_exactly(lossy, monkeypatch, capsys):
    settings = lossy
    # the normal path: every offset read, nothing reported
    _send(settings, _users(100, "loss-1"))
    first = stream.run(settings, until_idle=True, timeout=900)
    assert (first.read, first.lost) == (100, 0)
    batches = stores.connect(settings).mongo.read_batches()
    assert len(batches) > 1 and _lost_ranges(settings) == []
    assert all(gaps.balanced(b) and b["lost"] == 0 for b in batches)
    assert sum(b["covered"] for b in batches) == 100

    # stopped; 100 more sent; Kafka drops the first half of each partition's unread messages
    _send(settings, _users(100, "loss-2"))
    dropped = _drop_half_of_the_unread(settings)
    lost = sum(hi - lo for lo, hi in dropped.values())
    assert lost > 0

    # the default policy: stop before anything is written, with one line naming each range
    _use(monkeypatch, settings)
    assert cli.main(["stream", "--until-idle"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {lost} messages lost before the stream read them (")
    for p, (lo, hi) in dropped.items():
        assert f"{settings.kafka_topic}:{p} offsets {lo}-{hi - 1}" in err[0]
    assert "retention.ms" in err[0] and "profilepipe stream --accept-loss" in err[0]
    assert len(stores.connect(settings).mongo.read_batches()) == len(
        batches
    )  # nothing recorded, nothing skipped

    # accepted: recorded with its ranges, the rest read, and the books over offsets balance
    second = stream.run(settings, until_idle=True, accept_loss=True, timeout=900)
    assert (second.read, second.lost) == (100 - lost, lost)
    assert _lost_ranges(settings) == sorted(
        (p, lo, hi, gaps.RETENTION, True) for p, (lo, hi) in dropped.items()
    )
    batches = stores.connect(settings).mongo.read_batches()
    assert all(gaps.balanced(b) for b in batches)
    assert sum(b["covered"] for b in batches) == 200 == sum(b["messages"] for b in batches) + lost
    assert stores.connect(settings).cassandra.count_users() == 200 - lost
    assert audit.losses(batches)["losses_unacknowledged"] == []  # accepted: seen

    # PROFILEPIPE_ON_DATA_LOSS=record goes on by itself; the audit reports it until acknowledged
    _send(settings, _users(40, "loss-3"))
    more = _drop_half_of_the_unread(settings)
    third = stream.run(settings.replace(on_data_loss="record"), until_idle=True, timeout=900)
    assert third.lost == sum(hi - lo for lo, hi in more.values()) > 0
    report = audit.audit(settings)
    assert not report.clean and report.messages_lost == lost + third.lost
    assert len(report.losses_unacknowledged) >= 1
    capsys.readouterr()
    assert cli.main(["audit"]) == 3
    assert "messages lost before the stream read them" in capsys.readouterr().out
    assert cli.main(["audit", "--acknowledge-loss"]) == 0
    assert "losses acknowledged:" in capsys.readouterr().out
    assert cli.main(["audit"]) == 0


@pytest.fixture(scope="module")
def recreated(isolated):
    return isolated("recreate", pii_mode="hmac", hmac_key=KEY, as_of=AS_OF)


def test_a_topic_recreated_while_the_stream_was_stopped_is_read_from_its_start(recreated):
    settings = recreated
    _send(settings, _users(30, "recreate-1"))
    assert stream.run(settings, until_idle=True, timeout=900).read == 30
    old_keys = {b["offsets"].__repr__() for b in stores.connect(settings).mongo.read_batches()}

    # deleted and created again outside `profilepipe reset`, the same 30 offsets filled again
    kafka_client.delete_topics(settings, [settings.kafka_topic])
    stack.ensure_topics(settings)
    _send(settings, _users(30, "recreate-2"))
    with pytest.raises(DataLoss, match="deleted and created again") as stopped:
        stream.run(settings, until_idle=True, timeout=900)
    assert "profilepipe stream --accept-loss" in str(stopped.value)
    assert stores.connect(settings).cassandra.count_users() == 30

    again = stream.run(settings, until_idle=True, accept_loss=True, timeout=900)
    assert (again.read, again.lost) == (30, 0)  # the new topic from offset 0: nothing skipped
    assert (
        stores.connect(settings).cassandra.count_users() == 60
    )  # under keys of their own: not taken for replays
    assert {p for p, *_ in _lost_ranges(settings)} == set(range(settings.kafka_partitions))
    assert {cause for _, _, _, cause, _ in _lost_ranges(settings)} == {gaps.RECREATED}
    batches = stores.connect(settings).mongo.read_batches()
    assert sum(b["read"] for b in batches) == 60 and old_keys <= {repr(b["offsets"]) for b in batches}
    aside = Path(
        f"{settings.checkpoint_dir}.topic-{gaps.TopicMarker.read(settings.checkpoint_dir).recreated_from}"
    )
    assert (aside / "offsets").is_dir()  # the old checkpoint, kept
