"""``Counts``: the one type of a batch's and a stream's counts, and the one way they are printed."""

from __future__ import annotations

from profilepipe import contract, stores
from profilepipe.pipeline.report import BatchReport, Counts
from profilepipe.tools import live, workshop


def _batch(batch_id: int, read: int, stored: int, minors: int, dead: int, seconds: float) -> BatchReport:
    return BatchReport(
        batch_id=batch_id, read=read, stored=stored, filtered_minor=minors, dead_letter=dead, seconds=seconds
    )


def test_a_stream_total_adds_up_its_batches_and_keeps_the_balance_rule():
    total = Counts.total([_batch(0, 300, 260, 30, 10, 2.0), _batch(1, 220, 190, 20, 10, 2.0)], seconds=5.2)
    counts = (total.batches, total.read, total.stored, total.filtered_minor, total.dead_letter)
    assert counts == (2, 520, 450, 50, 20)
    assert total.balanced and contract.balanced(total)
    assert not Counts(read=3, stored=1).balanced


def test_every_caller_prints_the_counts_the_same_way():
    total = Counts.total([_batch(0, 520, 450, 50, 20, 41.6)], seconds=41.6)
    line = "read=520 stored=450 filtered_minor=50 erased=0 dead_letter=20"  # notebook 02's output
    assert total.outcomes() == line
    assert workshop.describe_run(total) == [line, "balanced: True"]
    assert total.describe() == f"batches=1 {line} in 41.6s (12 records/s)"
    assert _batch(3, 520, 450, 50, 20, 41.6).describe() == f"batch 3: {line} in 41.6s (12 records/s)"
    result = live.LiveResult(sent=520, rate=10, result=total, reports=[])
    assert result.describe()[1:3] == [line, "balanced: True; every user sent was read: True"]


def test_plan_rows_read_back_from_parts_written_by_any_version():
    part = {"dimension": "nationality", "key": "DE", "batch": "b1", "count": 2, "age_sum": 70}  # stored names
    row = contract.PlanRow.of(part)
    assert row == ("nationality", "DE", 2, 70, None) and row.key == "DE" and row.merged_id == "nationality|DE"
    plan = stores.Plan("b1", [part], None)
    assert plan.batch_key == "b1" and plan.rows == [row]
    # a part from before age_sq_sum existed reads as unknown (None), one from now with its value
    assert contract.PlanRow.of({**part, "age_sq_sum": 2500}).age_sq_sum == 2500
