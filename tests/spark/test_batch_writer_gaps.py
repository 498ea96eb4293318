"""``BatchWriter`` meets offsets Kafka no longer has (``pipeline.gaps``), without servers.

The writer reads the batch's plan from a checkpoint folder written here in Spark's format,
is called with a static Kafka-shaped frame holding fewer offsets than the plan, and writes
to a fake ``Sinks``: what it stops on, what it records, and that the books over offsets
balance (``covered = messages + lost``).
"""

from __future__ import annotations

import json

import pytest

from profilepipe import contract
from profilepipe.errors import DataLoss
from profilepipe.pipeline import gaps
from profilepipe.pipeline.batch_writer import BatchWriter

from support.frames import kafka_frame
from support.sinks import FakeSinks


def checkpoint(root, start: int, end: int, topic: str = "users"):
    """Spark's checkpoint of a query whose batch 0 is planned as offsets ``[start, end)`` of partition 0."""
    (root / "sources" / "0").mkdir(parents=True)
    (root / "sources" / "0" / "0").write_text("\x00v1\n" + json.dumps({topic: {"0": start}}))
    (root / "offsets").mkdir()
    meta = json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": 0, "conf": {}})
    (root / "offsets" / "0").write_text(f"v1\n{meta}\n{json.dumps({topic: {'0': end}})}")
    return str(root)


@pytest.fixture
def hmac_settings(settings):
    return settings.replace(pii_mode="hmac", hmac_key="unit-test-key-batch-gaps")


def test_a_batch_missing_offsets_of_its_plan_stops_before_anything_is_written(
    spark, hmac_settings, users, tmp_path
):
    frame = kafka_frame(spark, users[:8], first_offset=4)  # planned 0-11: 0-3 are gone
    sinks = FakeSinks()
    writer = BatchWriter(hmac_settings, sinks=sinks, checkpoint_dir=checkpoint(tmp_path, 0, 12))
    with pytest.raises(
        DataLoss, match=r"^4 messages lost before the stream read them \(users:0 offsets 0-3\)"
    ):
        writer(frame, 0)
    assert writer.data_loss is not None and writer.data_loss.gaps == [gaps.Gap("users", 0, 0, 4)]
    assert "write_rows" not in sinks.calls and "write_plan" not in sinks.calls and not sinks.written


def test_accepted_the_loss_is_recorded_with_its_range_and_the_books_balance(
    spark, hmac_settings, users, tmp_path
):
    frame = kafka_frame(spark, users[:8], first_offset=4)
    sinks = FakeSinks()
    writer = BatchWriter(
        hmac_settings, sinks=sinks, checkpoint_dir=checkpoint(tmp_path, 0, 12), accept_loss=True
    )
    writer(frame, 0)
    [doc] = sinks.batches.values()
    assert (doc["covered"], doc["messages"], doc["lost"], doc["read"]) == (12, 8, 4, 8)
    assert doc["lost_ranges"] == [gaps.Gap("users", 0, 0, 4).to_doc()] and doc["lost_acknowledged"] is True
    assert gaps.balanced(doc) and contract.balanced(doc)
    [report] = writer.reports
    assert report.lost == 4 and "LOST=4" in report.describe() and "users:0 offsets 0-3" in report.describe()


def test_a_batch_whose_every_offset_is_gone_is_recorded_as_a_loss_of_its_own(spark, hmac_settings, tmp_path):
    empty = kafka_frame(spark, [])
    sinks = FakeSinks()
    settings = hmac_settings.replace(on_data_loss="record")
    writer = BatchWriter(settings, sinks=sinks, checkpoint_dir=checkpoint(tmp_path, 30, 42))
    writer(empty, 0)
    [(key, doc)] = sinks.batches.items()
    assert key.startswith("lost-") and (doc["read"], doc["covered"], doc["messages"], doc["lost"]) == (
        0,
        12,
        0,
        12,
    )
    assert doc["lost_acknowledged"] is False  # `record`: the audit reports it until acknowledged
    assert "write_rows" not in sinks.calls


def test_a_batch_that_read_its_whole_plan_records_the_books_and_no_loss(
    spark, hmac_settings, users, tmp_path
):
    frame = kafka_frame(spark, users[:8], first_offset=4)
    sinks = FakeSinks()
    writer = BatchWriter(hmac_settings, sinks=sinks, checkpoint_dir=checkpoint(tmp_path, 4, 12))
    writer(frame, 0)
    [doc] = sinks.batches.values()
    assert (doc["covered"], doc["messages"], doc["lost"]) == (8, 8, 0) and "lost_ranges" not in doc
    assert writer.reports[0].lost == 0 and "LOST" not in writer.reports[0].describe()
