"""The arithmetic of offsets Kafka dropped before the stream read them (``pipeline.gaps``), on
plain data and a checkpoint folder written in Spark's format; the audit's finding on them."""

from __future__ import annotations

import datetime as dt
import json

from profilepipe.pipeline import gaps
from profilepipe.pipeline.gaps import RECREATED, RETENTION, Gap
from profilepipe.tools import audit

T = "users"


def write_checkpoint(root, initial: dict, batches: list[dict], committed: int) -> None:
    """A Kafka query's checkpoint as Spark writes it: ``sources/0/0``, ``offsets/N``, ``commits/N``."""
    (root / "sources" / "0").mkdir(parents=True)
    (root / "sources" / "0" / "0").write_text("\x00v1\n" + json.dumps({T: initial}))
    (root / "offsets").mkdir()
    (root / "commits").mkdir()
    for n, ends in enumerate(batches):
        meta = {"batchWatermarkMs": 0, "batchTimestampMs": 1, "conf": {}}
        (root / "offsets" / str(n)).write_text(f"v1\n{json.dumps(meta)}\n{json.dumps({T: ends})}")
        if n <= committed:
            (root / "commits" / str(n)).write_text('v1\n{"nextBatchWatermarkMs":0}')


def test_a_batch_that_read_its_whole_plan_has_no_gap():
    planned = {(T, 0): (10, 15), (T, 1): (0, 0)}
    assert gaps.find(planned, {(T, 0): [10, 11, 12, 13, 14]}) == []
    assert gaps.covered(planned) == 5


def test_the_offsets_retention_deleted_are_one_gap_per_partition_with_the_exact_count():
    planned = {(T, 0): (34, 100), (T, 1): (30, 40), (T, 2): (5, 9)}
    read = {(T, 0): range(50, 100), (T, 1): range(30, 40)}  # p0 from 50 on; p2 nothing left
    found = gaps.find(planned, read)
    assert found == [Gap(T, 0, 34, 50, RETENTION), Gap(T, 2, 5, 9, RETENTION)]
    assert [g.lost for g in found] == [16, 4]
    doc = {"covered": gaps.covered(planned), "messages": 50 + 10, "lost": 20}
    assert gaps.balanced(doc) and not gaps.balanced({**doc, "lost": 19})


def test_holes_inside_a_range_and_a_message_read_twice():
    found = gaps.find({(T, 0): (0, 10)}, {(T, 0): [0, 1, 1, 4, 5, 9, 12]})  # 12: outside the plan
    assert [(g.start, g.end) for g in found] == [(2, 4), (6, 9)]
    assert sum(g.lost for g in found) == 10 - 5


def test_offsets_that_go_backwards_are_a_recreated_topic_and_count_nothing_as_read():
    found = gaps.find({(T, 0): (34, 20)}, {})
    assert found == [Gap(T, 0, 34, 20, RECREATED)]
    assert found[0].lost == 0 and gaps.covered({(T, 0): (34, 20)}) == 0


def test_the_one_line_names_the_count_the_ranges_and_the_likely_cause():
    line = gaps.describe([Gap(T, 0, 34, 50), Gap(T, 2, 5, 9)])
    assert line.startswith(
        "20 messages lost before the stream read them (users:0 offsets 34-49, users:2 offsets 5-8)"
    )
    assert "retention.ms" in line and "deleted" in line
    assert "recreated" not in line
    assert "created again" in gaps.describe([Gap(T, 1, 7, 0, RECREATED)])


def test_a_gap_survives_the_batch_log(tmp_path):
    gap = Gap(T, 2, 5, 9)
    assert Gap.from_doc(json.loads(json.dumps(gap.to_doc()))) == gap
    assert gap.to_doc()["lost"] == 4


def test_planned_ranges_come_from_the_checkpoint_the_first_batch_from_the_initial_offsets(tmp_path):
    write_checkpoint(tmp_path, {"0": 0, "1": 0}, [{"0": 9, "1": 8}, {"0": 20, "1": 8, "2": 3}], committed=0)
    assert gaps.planned_ranges(tmp_path, 0) == {(T, 0): (0, 9), (T, 1): (0, 8)}
    # a partition new in batch 1 starts at 0
    assert gaps.planned_ranges(tmp_path, 1) == {(T, 0): (9, 20), (T, 1): (8, 8), (T, 2): (0, 3)}
    assert gaps.planned_ranges(tmp_path, 2) is None  # not planned yet
    assert gaps.committed_offsets(tmp_path) == {(T, 0): 9, (T, 1): 8}


def test_no_commit_yet_means_the_start_and_no_checkpoint_means_unknown(tmp_path):
    write_checkpoint(tmp_path / "c", {"0": 4}, [{"0": 9}], committed=-1)
    assert gaps.committed_offsets(tmp_path / "c") == {(T, 0): 4}
    assert gaps.committed_offsets(tmp_path / "none") is None
    assert gaps.planned_ranges(tmp_path / "none", 0) is None


def test_a_source_other_than_kafka_is_not_checked(tmp_path):
    (tmp_path / "offsets").mkdir()
    (tmp_path / "offsets" / "0").write_text('v1\n{"batchWatermarkMs":0}\n{"logOffset":0}')
    (tmp_path / "offsets" / "1").write_text('v1\n{"batchWatermarkMs":0}\n{"logOffset":1}')
    assert gaps.planned_ranges(tmp_path, 1) is None


def test_the_topic_marker_finds_a_recreated_topic_and_only_then(tmp_path):
    assert gaps.TopicMarker.read(tmp_path) is None
    gaps.TopicMarker(T, "id-1").write(tmp_path)
    marker = gaps.TopicMarker.read(tmp_path)
    assert marker == gaps.TopicMarker(T, "id-1") and marker.key_id == ""
    positions = {(T, 0): 34, (T, 1): 30}
    assert gaps.recreated(marker, "id-1", positions) == []
    assert gaps.recreated(None, "id-2", positions) == []  # a checkpoint from before the marker
    assert gaps.recreated(marker, "id-2", None) == []  # no position: nothing was skipped
    found = gaps.recreated(marker, "id-2", positions)
    assert found == [Gap(T, 0, 34, 0, RECREATED), Gap(T, 1, 30, 0, RECREATED)]
    assert "users:0 from offset 34 of the old topic" in gaps.describe(found)
    # the topic that replaced another names its batches apart from the old one's
    assert gaps.TopicMarker(T, "id-2", recreated_from="id-1").key_id == "id-2"


def test_a_loss_is_an_audit_finding_until_acknowledged():
    lost = {"batch_id": 3, "lost": 20, "lost_ranges": [Gap(T, 0, 34, 50).to_doc(), Gap(T, 2, 5, 9).to_doc()]}
    quiet = {"batch_id": 2, "read": 5, "lost": 0}
    args = ([], [], {}, [], dt.date(2026, 12, 7), 18)
    report = audit.build_report(*args, batches=[quiet, {**lost, "lost_acknowledged": False}])
    assert not report.clean and report.messages_lost == 20
    assert report.losses_unacknowledged == [f"batch 3: {gaps.describe([Gap(T, 0, 34, 50), Gap(T, 2, 5, 9)])}"]
    assert "messages lost before the stream read them: 20" in report.describe()
    seen = audit.build_report(*args, batches=[quiet, {**lost, "lost_acknowledged": True}])
    assert seen.clean and seen.messages_lost == 20 and not seen.losses_unacknowledged
    assert audit.build_report(*args, batches=[quiet]).clean
