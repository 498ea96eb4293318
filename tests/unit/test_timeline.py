"""``tools.timeline``: the checkpoint's files read back, the watermark a query's progress leads to,
and what two sinks received in one step of notebook 06 (no Spark: progress reports as dicts)."""

from __future__ import annotations

import json

import pytest

from profilepipe.pipeline import gaps
from profilepipe.tools import timeline

OFFSETS_FILE = (
    "v1\n"
    '{"batchWatermarkMs":0,"batchTimestampMs":1780315200000,"conf":{"spark.sql.shuffle.partitions":"4"}}\n'
    '{"users":{"2":250,"1":217,"0":209}}'
)


def _report(batch: int, rows: int, watermark: str, high: str | None = None, dropped: int = 0) -> dict:
    event_time = (
        {"watermark": f"2026-06-01T{watermark}:00.000Z"} if watermark else {"watermark": timeline.EPOCH}
    )
    if high:
        event_time["max"] = f"2026-06-01T{high}:00.000Z"
    return {
        "batchId": batch,
        "numInputRows": rows,
        "eventTime": event_time,
        "stateOperators": [{"numRowsDroppedByWatermark": dropped}],
    }


# the designed demo: step 1 (5 events, max 12:14), step 2 (12:25), step 3 (12:04 dropped, 12:17)
DEMO = [
    _report(0, 5, "", "12:14"),
    _report(1, 0, "12:04"),
    _report(2, 1, "12:04", "12:25"),
    _report(3, 0, "12:15"),
    _report(4, 2, "12:15", "12:17", dropped=1),
]


def test_an_offsets_file_gives_its_metadata_and_the_kafka_offsets_per_partition(tmp_path):
    (tmp_path / "offsets").mkdir()
    (tmp_path / "commits").mkdir()
    (tmp_path / "offsets" / "7").write_text(OFFSETS_FILE)
    (tmp_path / "offsets" / ".7.crc").write_text("")
    (tmp_path / "commits" / "6").write_text("v1\n{}")
    (tmp_path / "metadata").write_text(json.dumps({"id": "x"}))
    parsed = timeline.read_offsets_file(tmp_path, 7)
    assert parsed.version == "v1" and parsed.watermark_ms == 0
    assert parsed.metadata["conf"]["spark.sql.shuffle.partitions"] == "4"
    assert timeline.kafka_offsets(parsed) == {0: 209, 1: 217, 2: 250}
    assert timeline.checkpoint_files(tmp_path) == {"offsets": [7], "commits": [6]}
    assert timeline.checkpoint_entries(tmp_path) == ["commits/", "metadata", "offsets/"]
    assert timeline.offsets_read({0: 209, 1: 217, 2: 250}, {0: 200, 1: 200}) == 9 + 17 + 250


def test_a_file_that_is_not_an_offsets_file_is_refused():
    with pytest.raises(ValueError, match="offsets file"):
        gaps.parse_offsets('{"users": {"0": 1}}')


def test_the_watermark_is_the_highest_event_time_less_the_delay_and_never_goes_back():
    ten_minutes = 600_000
    assert timeline.expected_watermark([], ten_minutes) is None
    assert timeline.expected_watermark(DEMO[:1], ten_minutes) == timeline.to_ms("2026-06-01T12:04:00Z")
    assert timeline.expected_watermark(DEMO[:3], ten_minutes) == timeline.to_ms("2026-06-01T12:15:00Z")
    # late events (max 12:17) do not move a watermark already at 12:15 back to 12:07
    assert timeline.expected_watermark(DEMO, ten_minutes) == timeline.to_ms("2026-06-01T12:15:00Z")


def test_a_query_is_settled_only_after_the_batch_that_moves_the_watermark():
    ten_minutes = 600_000
    assert not timeline.settled(DEMO[:1], ten_minutes)  # the data batch ran with no watermark yet
    assert timeline.settled(DEMO[:2], ten_minutes)  # the batch without data ran with 12:04
    assert not timeline.settled(DEMO[:3], ten_minutes)
    assert timeline.settled(DEMO[:4], ten_minutes)
    assert timeline.settled(DEMO, ten_minutes)  # late events: the watermark does not move


def test_a_step_sums_the_reports_of_its_batches():
    step2 = timeline.progress_since(DEMO[:4], after_batch=1)
    assert (step2.batches, step2.records, step2.dropped) == (2, 1, 0)
    assert step2.describe() == "records read: 1; watermark 12:04 -> 12:15; rows dropped as late: 0"
    step3 = timeline.progress_since(DEMO, after_batch=3)
    assert step3.describe() == "records read: 2; watermark 12:15 -> 12:15; rows dropped as late: 1"
    first = timeline.progress_since(DEMO[:2], after_batch=-1)
    assert first.describe() == "records read: 5; watermark none -> 12:04; rows dropped as late: 0"


class _Query:
    def __init__(self, progress: list[dict]):
        self.recentProgress = progress
        self.isActive = True

    def processAllAvailable(self) -> None:
        pass

    def exception(self):
        return None


def test_settle_returns_once_the_step_is_read_and_the_watermark_moved():
    timeline.settle(_Query(DEMO[:4]), delay_seconds=600, records=1, after_batch=1, timeout=1)
    with pytest.raises(TimeoutError):  # the batch that moves the watermark never came
        timeline.settle(_Query(DEMO[:3]), delay_seconds=600, records=1, after_batch=1, timeout=0.2)
    with pytest.raises(TimeoutError):  # the step's records are not all reported yet
        timeline.settle(_Query(DEMO[:4]), delay_seconds=600, records=3, after_batch=1, timeout=0.2)


def test_what_each_sink_received_in_a_step_side_by_side():
    before = [("12:00-12:10", 3, "ana,ben,chloe"), ("12:10-12:20", 2, "dev,emma")]
    after = [*before, ("12:10-12:20", 3, "dev,emma,hana")]
    update = timeline.emitted(before, after)
    assert update == [("12:10-12:20", 3, "dev,emma,hana")]
    assert timeline.side_by_side(update, []) == [
        {"window": "12:10-12:20", "update": "3 (dev,emma,hana)", "append": "-"}
    ]
    rows = timeline.side_by_side([("12:20-12:30", 1, "finn")], [("12:00-12:10", 3, "ana,ben,chloe")])
    assert [r["window"] for r in rows] == ["12:00-12:10", "12:20-12:30"]
    assert rows[0]["update"] == "-" and rows[1]["append"] == "-"


def test_sign_up_events_are_keyed_by_user_and_carry_their_event_time():
    [(key, value)] = timeline.signup_messages([("ana", "ES", "12:01")])
    assert key == "ana"
    assert json.loads(value) == {"user": "ana", "nationality": "ES", "event_time": "2026-06-01T12:01:00Z"}
    assert timeline.hhmm(timeline.EPOCH) == "none" and timeline.hhmm("2026-06-01T12:04:00.000Z") == "12:04"
