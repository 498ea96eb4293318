"""``BatchWriter`` without servers: a fake ``Sinks`` (in-memory lists) on static DataFrames.

As Spark's own ``test_streaming_foreach_batch.py`` tests ``foreachBatch`` functions, the
writer is called directly with a DataFrame and a batch id; the fake records every call at
the ``stores.Sinks`` interface, so a test sees what each store would receive and in which
order: parse -> outcomes -> rows / aggregates / dead letters -> batch log.
"""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from profilepipe import contract, stores
from profilepipe.errors import BatchError
from profilepipe.pipeline import batch_writer, transform
from profilepipe.pipeline.batch_writer import BatchWriter
from profilepipe.pipeline.report import STAGES, stage_line

from support.sinks import FakeSinks

MALFORMED = [b"this is not json", b"[1, 2]"]


@pytest.fixture
def hmac_settings(settings):
    return settings.replace(pii_mode="hmac", hmac_key="unit-test-key-batch-writer")  # quick hashes


def write(settings, frame, sinks, batch_id=0, **kwargs) -> BatchWriter:
    writer = BatchWriter(settings, sinks=sinks, **kwargs)
    writer(frame, batch_id)
    return writer


def test_the_fake_is_a_sinks_and_the_default_is_the_real_stores(settings):
    assert isinstance(FakeSinks(), stores.Sinks)
    assert isinstance(BatchWriter(settings).sinks, stores.StoreSinks)


def test_one_batch_parse_outcomes_rows_aggregates_dead_letters_and_log(raw, hmac_settings, users):
    sinks = FakeSinks()
    writer = write(hmac_settings, raw(users + MALFORMED), sinks, batch_id=7)
    key = contract.batch_key({("users", 0): (0, len(users) + len(MALFORMED) - 1)})

    adults = [u for u in users if u["nat"] != "FI"]  # the FI user is 15
    assert sorted(r["user_id"] for r in sinks.rows) == sorted(u["login"]["uuid"].lower() for u in adults)
    assert all(tuple(r) == hmac_settings.user_columns for r in sinks.rows)
    assert not any(r["phone_hash"] in (None, u["phone"]) for r, u in zip(sinks.rows, adults, strict=False))
    aggs = {(r.dimension, r.key): r.count for r in sinks.aggregates[key]}
    assert sum(c for (d, _), c in aggs.items() if d == "nationality") == len(adults)
    assert {d for d, _ in aggs} == set(contract.DIMENSIONS)
    letters = [(k, json.loads(v)) for k, v in sinks.letters[key]]
    assert sorted((d["source_offset"], d["reason"]) for _, d in letters) == [
        (9, "invalid_json"),
        (10, "not_a_user"),
    ]
    assert all(tuple(d) == contract.DLQ_FIELDS for _, d in letters)

    doc = sinks.batches[key]
    assert (doc["batch_id"], doc["read"], doc["stored"], doc["filtered_minor"]) == (7, 11, 8, 1)
    assert (doc["erased"], doc["dead_letter"]) == (0, 2)
    assert doc["dead_letter_reasons"] == {"invalid_json": 1, "not_a_user": 1}
    assert contract.balanced(doc)
    assert doc["offsets"] == {"users:0": [0, 10]} and doc["as_of"] == "2026-01-15"
    assert doc["pii_mode"] == "hmac" and doc["finished_at"].tzinfo is not None
    [report] = writer.reports
    assert (report.batch_id, report.batch_key, report.balanced) == (7, key, True)
    assert report.dead_letter_reasons == {"invalid_json": 1, "not_a_user": 1}


def test_step_order_plan_rows_dead_letters_written_then_the_applier_aggregates_and_log(
    raw, hmac_settings, users
):
    sinks, stages = FakeSinks(), []
    write(hmac_settings, raw(users + MALFORMED), sinks, on_stage=lambda s, b, d: stages.append(s))
    assert sinks.calls == [
        *("erased_keys", "read_plan", "previous_rows", "write_plan"),  # planned before any row is written
        *("write_rows", "erased_keys"),  # the register again after the rows
        *("write_dead_letters", "mark_written"),  # the micro-batch ends here
        *("apply_plan", "record_batch"),  # the applier's
    ]
    assert stages == list(STAGES)


def test_a_batch_without_dead_letters_or_stored_rows(raw, hmac_settings, users):
    sinks = FakeSinks()
    write(hmac_settings, raw([users[8]]), sinks)  # one minor
    assert sinks.calls == ["erased_keys", "read_plan", "mark_written", "record_batch"]
    assert sinks.rows == [] and list(sinks.batches.values())[0]["filtered_minor"] == 1


def test_an_empty_batch_writes_nothing(raw, hmac_settings):
    sinks = FakeSinks()
    writer = write(hmac_settings, raw([]), sinks)
    assert sinks.calls == ["erased_keys"] and writer.reports == []  # the register, then nothing


def test_users_in_the_erasure_register_are_not_written(raw, hmac_settings, users):
    gone = users[1]["login"]["uuid"]
    sinks = FakeSinks(register={contract.erasure_key(gone.upper())})  # the key ignores case
    [report] = write(hmac_settings, raw(users), sinks).reports
    assert gone not in {r["user_id"] for r in sinks.rows}
    assert (report.erased, report.stored, report.balanced) == (1, 7, True)


def test_without_a_repeated_user_the_duplicate_rule_changes_nothing(raw, hmac_settings, users):
    parsed = transform.parse(raw([*users, *MALFORMED]))
    with_rule = transform.shape(parsed, hmac_settings, "2026-01-15")
    without = transform.shape(parsed, hmac_settings, "2026-01-15", supersede=False)
    assert with_rule.exceptAll(without).count() == 0 == without.exceptAll(with_rule).count()
    assert not transform.batch_pass(without).repeated


def test_a_user_twice_in_a_batch_is_shaped_again_with_the_duplicate_rule(raw, hmac_settings, users, user):
    # the batch's pass runs without the rule's shuffle; a repeated stored, minor or erased
    # user makes it shape the batch again with the rule: the earlier copies are dead letters
    sinks = FakeSinks(register={contract.erasure_key(users[1]["login"]["uuid"])})
    again = [user(location__country="Norway"), users[1], users[8]]  # users[0] moved, erased, a minor
    [report] = write(hmac_settings, raw([*users, *again]), sinks).reports
    assert (report.read, report.stored, report.erased, report.filtered_minor) == (12, 7, 1, 1)
    assert report.dead_letter_reasons == {"duplicate_in_batch": 3} and report.balanced
    assert sinks.table[users[0]["login"]["uuid"]]["country"] == "Norway"  # the later copy
    late = {json.loads(v)["source_offset"] for k, v in sinks.letters[report.batch_key]}
    assert late == {0, 1, 8}  # the earlier copies


def test_a_user_forgotten_while_the_rows_are_written_is_deleted_again(raw, hmac_settings, user):
    mixed = "0F8A7C2E-1b3d-4E5F-8a9b-0C1D2E3F4A5B"  # the GB user's id in mixed case
    forgotten = user(login__uuid=mixed)

    def forget(fake):  # `profilepipe forget` runs while the batch writes its rows
        fake.register.add(contract.erasure_key(mixed))

    sinks = FakeSinks(on_write_rows=forget)
    [report] = write(hmac_settings, raw([forgotten]), sinks).reports
    assert [r["user_id"] for r in sinks.rows] == [mixed.lower()]  # written before the erasure...
    assert sinks.deleted == [mixed.lower()]  # ...and deleted again in the same batch
    assert sinks.calls.index("delete_erased") < sinks.calls.index("apply_plan")
    assert report.stored == 1  # it was stored when the batch read it
    assert sinks.table == {} and sinks.nonzero() == {}  # its contribution taken back: aggregates = table


def test_the_spark_erasure_key_equals_the_contract_on_mixed_case_ids(spark):
    ids = [
        "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
        "0F8A7C2E-1B3D-4E5F-8A9B-0C1D2E3F4A5B",
        " 0F8a7C2e-1b3D-4e5F-8A9b-0c1D2e3F4a5B ",
    ]
    df = spark.createDataFrame([(i,) for i in ids], "user_id string")
    got = [r[0] for r in df.select(transform.erasure_key_col(F.col("user_id"))).collect()]
    assert got == [contract.erasure_key(i) for i in ids] and len(set(got)) == 1


def test_rows_not_all_written_fail_the_batch_before_the_log(raw, hmac_settings, users):
    sinks = FakeSinks(lose_rows=1)
    with pytest.raises(BatchError, match="8 rows to store but 7 written"):
        write(hmac_settings, raw(users), sinks)
    assert "record_batch" not in sinks.calls


def test_counts_that_do_not_add_up_fail_the_batch_before_the_log(raw, hmac_settings, users, monkeypatch):
    real = transform.batch_pass

    def off_by_one(df):
        seen = real(df)
        seen.counts["read"] += 1
        return seen

    monkeypatch.setattr(transform, "batch_pass", off_by_one)
    sinks = FakeSinks()
    with pytest.raises(BatchError, match="counts do not add up"):
        write(hmac_settings, raw(users), sinks)
    assert "record_batch" not in sinks.calls


def test_stage_lines_are_what_stream_verbose_prints(raw, hmac_settings, users):
    lines = []
    hook = lambda s, b, d: lines.append(stage_line(s, b, d))  # noqa: E731
    write(hmac_settings, raw(users + MALFORMED), FakeSinks(), batch_id=3, on_stage=hook)
    assert lines[0].startswith("batch 3: offsets users:0:0-10 (batch key ")
    assert lines[1].startswith("batch 3: parse+hash done: read=11, stored=8, filtered_minor=1, erased=0")
    # 41 groups: the 8 adults fall in 4 of the 10-year age bands (contract.AGE_BANDS), not 5
    assert lines[2].startswith("batch 3: aggregates done: 41 groups change (")
    assert lines[3].startswith("batch 3: cassandra done: 8 rows upserted (")
    assert lines[4].startswith("batch 3: dead_letters done: 2 of 2 sent (the rest were already there)")
    assert lines[5].startswith("batch 3: mongo done: 41 aggregate documents changed (")
    assert lines[-1] == "batch 3: recorded in the batch log; Spark commits the offsets next"


def test_dead_letter_messages_carry_the_key_and_the_contract_fields(raw, hmac_settings):
    shaped = transform.assemble(raw(MALFORMED, keys=[b"k0", None]), hmac_settings)
    letters = batch_writer.dead_letter_messages(transform.dead_letters(shaped))
    by_offset = {json.loads(v)["source_offset"]: (k, tuple(json.loads(v))) for k, v in letters}
    assert by_offset == {0: (b"k0", contract.DLQ_FIELDS), 1: (None, contract.DLQ_FIELDS)}


def test_a_user_sent_again_with_changes_moves_between_groups(raw, hmac_settings, users, user):
    sinks = FakeSinks()
    write(hmac_settings, raw(users), sinks, batch_id=0)
    again = user(location__country="Norway", gender="female", dob__date="1950-03-04T00:00:00.000Z")
    raw2 = raw([again]).withColumn("offset", F.col("offset") + 100)  # a later batch: other offsets
    write(hmac_settings, raw2, sinks, batch_id=1)
    assert len(sinks.table) == 8  # upserted, not added
    assert sinks.nonzero() == sinks.table_groups()  # one contribution per stored user: its latest
    assert sinks.nonzero()[("country", "Norway")][0] >= 1
    plan = sinks.aggregates[list(sinks.batches)[1]]
    assert {r.count for r in plan} <= {-1, 0, 1} and any(r.count == -1 for r in plan)


def test_the_same_batch_sent_again_changes_no_aggregate(raw, hmac_settings, users):
    sinks = FakeSinks()
    write(hmac_settings, raw(users), sinks, batch_id=0)
    before = sinks.nonzero()
    write(hmac_settings, raw(users), sinks, batch_id=1)  # a replay with a new checkpoint: recorded key
    assert sinks.nonzero() == before == sinks.table_groups()
    assert sinks.aggregates[list(sinks.batches)[0]] == []  # the replanned change is empty


def test_a_batch_killed_after_its_plan_reuses_it_and_its_date(raw, hmac_settings, users):
    class Killed(Exception):
        pass

    def die(fake):
        raise Killed

    sinks = FakeSinks(on_write_rows=die)
    with pytest.raises(Killed):
        write(hmac_settings.replace(as_of="2026-01-15"), raw(users), sinks)
    sinks.on_write_rows, sinks.calls = None, []
    [report] = write(hmac_settings.replace(as_of="2027-01-15"), raw(users), sinks).reports  # a day later
    assert "previous_rows" not in sinks.calls and "write_plan" not in sinks.calls  # the plan is reused
    assert sinks.batches[report.batch_key]["as_of"] == "2026-01-15"  # with the ages it was computed for
    assert sinks.nonzero() == sinks.table_groups() and not sinks.plans


def _later(raw, rows, by: int = 100):
    return raw(rows).withColumn("offset", F.col("offset") + by)  # a later batch: other offsets


def test_the_applier_applies_each_batch_before_the_next_is_marked_written(raw, hmac_settings, users, user):
    sinks = FakeSinks()
    writer = BatchWriter(hmac_settings, sinks=sinks, background=True)
    writer(raw(users), 0)
    writer(_later(raw, [user(location__country="Norway", gender="female")]), 1)
    assert writer.close() is None  # waits for the last batch's aggregates
    first, second = (r.batch_key for r in writer.reports)
    recorded = [i for i, c in enumerate(sinks.calls) if c == "record_batch"]
    marked = [i for i, c in enumerate(sinks.calls) if c == "mark_written"]
    assert marked[0] < recorded[0] < marked[1] < recorded[1]  # one batch of lag at most, in order
    assert list(sinks.batches) == [first, second] and not sinks.written and not sinks.plans
    assert sinks.nonzero() == sinks.table_groups()
    assert all(doc["stages"]["mongo"] >= 0 for doc in sinks.batches.values())  # the applier's time


def test_an_applier_that_fails_fails_the_next_batch_and_recover_applies_its_batch(
    raw, hmac_settings, users, user
):
    class Down(Exception):
        pass

    def down(plan):
        raise Down("mongodb unreachable")

    sinks = FakeSinks()
    apply_plan, sinks.apply_plan = sinks.apply_plan, down
    writer = BatchWriter(hmac_settings, sinks=sinks, background=True)
    writer(raw(users), 0)  # the micro-batch ends (Spark would commit it), its aggregates fail
    later = _later(raw, [user(location__country="Norway", gender="female")])
    with pytest.raises(Down):
        writer(later, 1)  # fails before it is marked written: Spark replays it
    assert writer.close() is None and not sinks.batches
    [(key, doc)] = sinks.written.items()
    assert doc["batch_id"] == 0 and doc["stored"] == 8

    sinks.apply_plan = apply_plan  # the store is back; the next stream starts
    restarted = BatchWriter(hmac_settings, sinks=sinks, background=True)
    assert restarted.recover() == 1
    restarted(later, 1)  # the replay reuses the plan its first attempt wrote
    assert restarted.close() is None
    assert list(sinks.batches)[0] == key and len(sinks.batches) == 2 and not sinks.written
    assert sinks.nonzero() == sinks.table_groups()


def test_the_job_counter_counts_the_jobs_of_the_batch_s_group(spark, raw, hmac_settings, users):
    df = spark.range(10)
    assert batch_writer.JobCounter(df).count() is None  # no job group: not countable
    sc = spark.sparkContext
    sc.setJobGroup("jobs-per-batch-test", "a micro-batch's jobs", interruptOnCancel=False)
    try:
        counter = batch_writer.JobCounter(df)
        df.collect()
        df.collect()
        assert counter.count() == 2  # one job per collect of a shuffle-free plan
        [report] = write(hmac_settings, raw(users + MALFORMED), FakeSinks()).reports
        assert report.jobs is not None and report.jobs >= 3  # the pass, the plan, the dead letters
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
