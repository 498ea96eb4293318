"""The lag arithmetic (``analysis.lag.report``) on plain data: no Kafka, no Spark, no clock."""

from __future__ import annotations

import datetime as dt

import pytest

from profilepipe import cli
from profilepipe.analysis import lag
from profilepipe.errors import NotReady

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
WEEK_MS = 7 * 24 * 3600 * 1000


def ms_ago(**delta) -> int:
    return int((NOW - dt.timedelta(**delta)).timestamp() * 1000)


def test_waiting_is_end_minus_the_position_and_the_oldest_unread_sets_the_margin():
    r = lag.report(
        "users",
        {0: (0, 100), 1: (0, 50)},
        {0: 40, 1: 50},
        {0: ms_ago(hours=2, minutes=5)},
        WEEK_MS,
        NOW,
    )
    p0, p1 = r.partitions
    assert (p0.position, p0.waiting, p0.lost) == (40, 60, 0)
    assert (p1.waiting, p1.oldest_at, p1.age, p1.margin) == (0, None, None, None)  # read to its end
    assert p0.age == dt.timedelta(hours=2, minutes=5)
    assert p0.margin == dt.timedelta(days=7) - dt.timedelta(hours=2, minutes=5)
    assert (r.waiting, r.lost, r.started) == (60, 0, True)
    assert r.line() == (
        "topic users: 60 messages wait (oldest 2 h 05 min old, retention 7 d: "
        "may be deleted in 6 d 21 h); 0 already lost"
    )


def test_a_position_before_the_log_start_counts_the_deleted_messages_as_lost():
    """Retention (or DeleteRecords) moved partition 0's start to 30 while the stream stood at 10."""
    r = lag.report("users", {0: (30, 100), 1: (5, 20)}, {0: 10, 1: 7}, {0: ms_ago(hours=1)}, WEEK_MS, NOW)
    p0, p1 = r.partitions
    assert (p0.lost, p0.waiting) == (20, 70)  # 10..29 gone; 30..99 wait, not 90
    assert (p1.lost, p1.waiting) == (0, 13)  # the start moved, but not past the stream
    assert r.lost == 20 and r.waiting == 83
    assert r.line().endswith("; 20 already lost before the stream read them (partition 0: 20)")


def test_without_a_checkpoint_the_stream_starts_at_the_log_start_and_nothing_is_lost():
    r = lag.report("users", {0: (25, 40), 1: (0, 0)}, None, {0: ms_ago(minutes=3, seconds=7)}, WEEK_MS, NOW)
    p0, p1 = r.partitions
    assert (p0.position, p0.waiting, p0.lost) == (25, 15, 0)
    assert (p1.position, p1.waiting, p1.lost) == (0, 0, 0)
    assert not r.started
    assert r.line().startswith(
        "topic users: the stream has not started; 15 messages wait (oldest 3 min 07 s old"
    )
    latest = lag.report("users", {0: (25, 40)}, None, {}, WEEK_MS, NOW, starting_offsets="latest")
    assert (latest.partitions[0].position, latest.waiting) == (40, 0)


def test_empty_partitions_and_a_partition_the_checkpoint_does_not_name():
    r = lag.report(
        "users", {0: (0, 0), 1: (0, 0), 2: (7, 9)}, {0: 0, 1: 0}, {2: ms_ago(seconds=45)}, WEEK_MS, NOW
    )
    assert [p.waiting for p in r.partitions] == [0, 0, 2]
    # partition 2 is new to the checkpoint: Spark reads it from 0, so 0..6 were lost before it could
    assert r.partitions[2].position == 0 and r.partitions[2].lost == 7
    empty = lag.report("users", {0: (0, 0)}, {0: 0}, {}, WEEK_MS, NOW)
    assert (empty.waiting, empty.lost, empty.age, empty.margin) == (0, 0, None, None)
    assert empty.line() == "topic users: nothing waits (retention 7 d); 0 already lost"
    assert lag.report("users", {}, None, {}, WEEK_MS, NOW).line() == (
        "topic users: the stream has not started; no partition"
    )


def test_the_margin_turns_negative_past_retention():
    r = lag.report("users", {0: (0, 10), 1: (0, 10)}, {0: 0, 1: 0},
                   {0: ms_ago(days=8), 1: ms_ago(days=1)}, WEEK_MS, NOW)  # fmt: skip
    assert r.partitions[0].margin == -dt.timedelta(days=1)
    assert r.partitions[1].margin == dt.timedelta(days=6)
    assert r.margin == -dt.timedelta(days=1) and r.age == dt.timedelta(days=8)  # the worst partition
    assert "oldest 8 d old, retention 7 d: past it by 1 d, may be deleted at any time" in r.line()


def test_no_time_limit_unknown_retention_and_an_unread_timestamp():
    unlimited = lag.report("users", {0: (0, 10)}, {0: 0}, {0: ms_ago(days=400)}, -1, NOW)
    assert unlimited.margin is None and unlimited.retention is None
    assert "(oldest 400 d old, no retention limit)" in unlimited.line()
    unknown = lag.report("users", {0: (0, 10)}, {0: 0}, {}, None, NOW)  # timestamp not read in time
    assert unknown.age is None and unknown.margin is None
    assert "10 messages wait (oldest age unknown, retention unknown)" in unknown.line()


def test_a_checkpoint_past_the_end_is_named_not_counted():
    r = lag.report("users", {0: (0, 5)}, {0: 80}, {}, WEEK_MS, NOW)
    assert (r.waiting, r.lost, r.partitions[0].past_end) == (0, 0, True)
    assert "the checkpoint is past the end of partition 0 (was the topic deleted" in r.line()


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(seconds=45), "45 s"),
        (dt.timedelta(minutes=3, seconds=7), "3 min 07 s"),
        (dt.timedelta(hours=2, minutes=5, seconds=59), "2 h 05 min"),
        (dt.timedelta(days=6, hours=21, minutes=54), "6 d 21 h"),
        (dt.timedelta(days=7), "7 d"),
        (dt.timedelta(hours=-1, minutes=-5), "-1 h 05 min"),
        (dt.timedelta(0), "0 s"),
    ],
)
def test_human_durations(delta, text):
    assert lag.human(delta) == text


def test_rows_and_table_hold_every_partition():
    r = lag.report("users", {0: (30, 100), 1: (0, 0)}, {0: 10, 1: 0}, {0: ms_ago(hours=1)}, WEEK_MS, NOW)
    assert r.rows()[0] == {
        "partition": 0, "log start": 30, "end": 100, "position": 10, "waiting": 70, "already lost": 20,
        "oldest unread at": "2026-06-01 11:00:00 UTC", "age": "1 h", "margin": "6 d 23 h",
    }  # fmt: skip
    assert r.rows()[1]["age"] == "-"
    lines = r.table().splitlines()
    assert len(lines) == 3 and lines[0].split()[:2] == ["partition", "log"]


def test_cli_lag_prints_one_line_when_kafka_does_not_answer(monkeypatch, capsys):
    def down(settings, **_):
        raise NotReady("Kafka at 127.0.0.1:9 does not answer (KafkaTimeoutError): start the stack first")

    monkeypatch.setattr(lag, "read", down)
    assert cli.main(["lag"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.strip().splitlines() == [
        "error: Kafka at 127.0.0.1:9 does not answer (KafkaTimeoutError): start the stack first"
    ]


def test_cli_lag_passes_the_checkpoint_dir(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(settings, **_):
        seen["dir"] = settings.checkpoint_dir
        return lag.report(settings.kafka_topic, {0: (0, 3)}, None, {}, WEEK_MS, NOW)

    monkeypatch.setattr(lag, "read", fake)
    assert cli.main(["lag", "--checkpoint-dir", str(tmp_path)]) == 0
    assert seen["dir"] == str(tmp_path)
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .endswith("3 messages wait (oldest age unknown, retention 7 d); 0 already lost")
    )
