"""One micro-batch: Kafka rows in; rows, aggregates, dead letters and the batch log out.

``BatchWriter`` is the query's ``foreachBatch`` function. Each batch, in this order (the
order is what makes a replay safe: docs/ARCHITECTURE.md#failure-model):

1. one Spark pass (``transform.batch_pass``) over the batch parsed, validated, split and
   hashed (``transform.assemble``, prepared once per processing date and erasure register):
   its outcome counts, its Kafka offset ranges, which name it (``contract.batch_key``), and its stored rows'
   contributions, on the driver. The pass leaves out the duplicate rule, a shuffle, and
   runs again with it only when it finds a user twice (``BatchPass.repeated``);
2. the plan, its change to the aggregates (``contract.delta_rows``), written ahead before
   any row is overwritten; a replay reuses it and its processing date;
3. the rows; then the rows of users forgotten meanwhile deleted again (and taken out of
   the plan); then the dead letters;
4. ``contract.BALANCE_RULE`` checked and the batch marked written (``batch_log``): the
   micro-batch ends and Spark commits its offsets;
5. the applier applies the plan and records the batch: with ``background`` (the stream)
   in a thread of its own while Spark runs the next batch, which waits for it, so the
   aggregates lag the rows by at most one batch.

It reaches the stores only through ``stores.Sinks``, so a test can pass a fake. After each
step it calls ``on_stage(stage, batch_id, detail)`` with one of ``report.STAGES``: ``report.stage_line``
is how ``profilepipe stream -v`` prints it, ``stage_events`` how the fault tests see it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from pyspark.sql import functions as F

from profilepipe import contract, stores
from profilepipe.config import Settings
from profilepipe.errors import BatchError, DataLoss
from profilepipe.pipeline import gaps, transform
from profilepipe.pipeline.prepared import PreparedTransform
from profilepipe.pipeline.report import (
    AGGREGATES,
    DEAD_LETTERS,
    MERGED,
    OFFSETS,
    PARSED,
    RECORDED,
    ROWS,
    BatchReport,
    StageHook,
)
from profilepipe.stores import Letter, Plan, Sinks


def batch_log(
    settings: Settings,
    report: BatchReport,
    offsets: dict,
    as_of: dt.date,
    planned: gaps.Ranges | None = None,
    messages: int = 0,
    acknowledged: bool = False,
) -> dict:
    """The batch-log document of a written batch (``Sinks.mark_written``, then ``record_batch``).

    With ``planned`` (the checkpoint's ranges; None: not a Kafka source): ``covered`` offsets =
    ``messages`` read + ``lost`` (``gaps.balanced``), the gaps as ``lost_ranges``, and whether
    the loss was accepted (``lost_acknowledged``: ``stream --accept-loss``; else ``audit`` reports it).
    """
    books: dict = {}
    if planned is not None:
        books = {"covered": gaps.covered(planned), "messages": messages}
    if planned is not None or report.lost_ranges:
        books["lost"] = report.lost
    if report.lost_ranges:
        books |= {"lost_ranges": [g.to_doc() for g in report.lost_ranges], "lost_acknowledged": acknowledged}
    return {
        "batch_id": report.batch_id,
        "read": report.read,
        "stored": report.stored,
        "filtered_minor": report.filtered_minor,
        "erased": report.erased,
        "dead_letter": report.dead_letter,
        "dead_letter_reasons": dict(sorted(report.dead_letter_reasons.items())),
        "seconds": report.seconds,
        "stages": dict(report.stages),  # seconds per step (``STAGES``)
        "jobs": report.jobs,
        "as_of": as_of.isoformat(),
        "pii_mode": settings.pii_mode,
        "offsets": {f"{t}:{p}": [lo, hi] for (t, p), (lo, hi) in sorted(offsets.items())},
        "finished_at": dt.datetime.now(dt.UTC),
        **books,
    }


def loss_line(settings: Settings, lost: list[gaps.Gap]) -> str:
    """The one line of a stream stopped on a gap: what was lost, and the command that goes on."""
    return (
        f"{gaps.describe(lost)}. The stream stopped ({Settings.env_name('on_data_loss')}="
        f"{settings.on_data_loss}): `profilepipe stream --accept-loss` records the loss and goes on"
        + (" from the new topic's first message" if any(g.cause == gaps.RECREATED for g in lost) else "")
    )


def dead_letter_messages(dlq_df) -> list[Letter]:
    """``(key, JSON value)`` of each dead letter of ``transform.dead_letters(...)``, collected.

    The value holds the ``contract.DLQ_FIELDS``. The JSON is built by Spark (``to_json``), so
    timestamps are written in the session's time zone (UTC) whatever the Python process's
    zone is. A micro-batch holds at most ``max_offsets_per_trigger`` messages, so its dead
    letters fit in the driver.
    """
    out = dlq_df.select(
        F.col("key").cast("binary").alias("key"),
        F.to_json(F.struct(*[F.col(c) for c in contract.DLQ_FIELDS])).alias("value"),
    )
    return [(_letter_key(r["key"]), r["value"]) for r in out.collect()]


def _letter_key(key) -> bytes | None:
    """A dead letter's Kafka key (its source message's) as the producer takes it: bytes or None."""
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, bytearray):
        return bytes(key)
    return str(key).encode("utf-8")


class JobCounter:
    """Counts the Spark jobs a batch runs: those of the batch's job group started since creation.

    Structured Streaming runs a micro-batch's jobs (``foreachBatch`` ones included) in the
    query's job group; ``count`` is how many jobs of that group appeared since. None when
    there is no group (a static DataFrame without one, as in a test that sets none).
    """

    def __init__(self, df):
        self.sc = df.sparkSession.sparkContext
        self.group = self.sc.getLocalProperty("spark.jobGroup.id")
        self.before = self._ids()

    def _ids(self) -> set[int]:
        return set(self.sc.statusTracker().getJobIdsForGroup(self.group)) if self.group else set()

    def count(self) -> int | None:
        return len(self._ids() - self.before) if self.group else None


@dataclass
class BatchWriter:
    """The ``foreachBatch`` function: one micro-batch in, the ``Sinks`` written (see the module)."""

    settings: Settings
    sinks: Sinks | None = None  # None: stores.connect(settings), the real stores
    reports: list[BatchReport] = field(default_factory=list)
    on_batch: Callable[[BatchReport], object] | None = None  # e.g. print
    on_stage: StageHook | None = None  # (stage, batch_id, detail) after each step of a batch
    hasher: Callable | None = None  # (shaped_df, settings) -> phone/address hashed (None: privacy.hash_pii)
    background: bool = False  # the applier in a thread of its own (the stream), else in the batch
    checkpoint_dir: str | None = None  # the query's: its planned offsets find the gaps (``gaps``)
    accept_loss: bool = False  # gaps recorded as acknowledged and the batch goes on, whatever the policy
    topic_id: str = ""  # ``gaps.TopicMarker.key_id``: in the batch keys of a recreated topic
    data_loss: DataLoss | None = field(default=None, init=False)  # why the writer stopped the query

    # (as_of, erased, supersede) -> PreparedTransform
    _prepared: dict = field(default_factory=dict, init=False, repr=False)
    _applier: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _applying: Future | None = field(default=None, init=False, repr=False)  # the last batch handed over

    def __post_init__(self) -> None:
        if self.sinks is None:
            self.sinks = stores.connect(self.settings)

    def __call__(self, batch_df, batch_id: int) -> None:
        started, started_at = time.monotonic(), time.time()
        assert self.sinks is not None  # set by __post_init__
        jobs = JobCounter(batch_df)
        # per batch: a long stream rolls over midnight (a replay takes the date of its plan, below)
        as_of = transform.resolve_as_of(self.settings)
        erased = self.sinks.erased_keys()  # forgotten users are dropped, also on a replay
        shaped, seen = self._pass(batch_df, as_of, erased)  # the one pass over Kafka's rows
        try:
            planned = gaps.planned_ranges(self.checkpoint_dir, batch_id) if self.checkpoint_dir else None
            lost = gaps.find(planned, seen.read) if planned else []
            if not seen.offsets and not lost:
                return
            self.check_loss(lost)
            key = self._key(seen.offsets, planned if not seen.offsets else None)
            plan = self.sinks.read_plan(key)  # written by an attempt killed before it was recorded
            if plan is not None and plan.as_of and plan.as_of != as_of.isoformat():
                shaped.unpersist()  # a replay on another day: the ages must be those of its plan
                as_of = transform.resolve_as_of(self.settings, plan.as_of)
                shaped, seen = self._pass(batch_df, as_of, erased)
            counts, offsets = seen.counts, seen.offsets
            stages = {OFFSETS: 0.0, PARSED: time.monotonic() - started}  # one pass gives both
            self.stage(OFFSETS, batch_id, f"{contract.ranges_text(offsets, ' ')} (batch key {key})")
            if lost:
                self.stage(OFFSETS, batch_id, f"LOST: {gaps.describe(lost)}")
            outcomes = ", ".join(f"{k}={v}" for k, v in counts.items())
            self.stage(PARSED, batch_id, f"{outcomes} ({stages[PARSED]:.1f}s)")
            written, reasons, plan = self._write(batch_id, shaped, seen, erased, as_of, key, stages, plan)
        finally:
            shaped.unpersist()
        self._wait_for_applier()  # the previous batch's aggregates first: one batch of lag at most
        report = BatchReport(
            batch_id=batch_id,
            read=counts["read"],
            stored=written,
            filtered_minor=counts[contract.MINOR],
            dead_letter=counts[contract.DEAD],
            erased=counts[contract.ERASED],
            seconds=round(time.monotonic() - started, 3),
            batch_key=key,
            started_at=started_at,
            finished_at=time.time(),
            stages={k: round(v, 3) for k, v in stages.items()},
            dead_letter_reasons=reasons,
            jobs=jobs.count(),
            lost=sum(g.lost for g in lost),
            lost_ranges=lost,
        )
        if written != counts[contract.STORED]:
            raise BatchError(f"batch {batch_id}: {counts['stored']} rows to store but {written} written")
        if not report.balanced:
            raise BatchError(f"batch {batch_id}: counts do not add up: {report}")
        messages = sum(len(o) for o in seen.read.values())
        doc = batch_log(self.settings, report, offsets, as_of, planned, messages, self.accept_loss)
        if not gaps.balanced(doc):
            raise BatchError(
                f"batch {batch_id}: offsets covered != messages read + lost: {doc['covered']}, "
                f"{doc['messages']} + {doc['lost']}"
            )
        self.sinks.mark_written(key, doc)
        self.reports.append(report)
        if self.on_batch:
            self.on_batch(report)
        self._hand_over(batch_id, key, plan, doc, report)

    # ------------------------------------------------------------------ offsets Kafka no longer has
    def check_loss(self, lost: list[gaps.Gap]) -> None:
        """Stop the query on a gap (policy ``stop``) unless the loss is accepted: raise ``DataLoss``
        before anything of the batch is written, so the next start meets the same gap."""
        if not lost or self.accept_loss or self.settings.on_data_loss != "stop":
            return
        self.data_loss = DataLoss(loss_line(self.settings, lost), lost)
        raise self.data_loss

    def record_loss(self, lost: list[gaps.Gap], key: str) -> None:
        """Record gaps found outside a batch (a recreated topic: ``stream.check_topic``) in a
        batch-log document of their own, which read nothing."""
        assert self.sinks is not None  # set by __post_init__
        report = BatchReport(
            batch_id=-1, lost=sum(g.lost for g in lost), lost_ranges=lost, finished_at=time.time()
        )
        as_of = transform.resolve_as_of(self.settings)
        doc = batch_log(self.settings, report, {}, as_of, acknowledged=self.accept_loss)
        self.sinks.mark_written(key, doc)
        self._apply(None, key, None, doc)
        if self.on_batch:
            self.on_batch(report)

    def _key(self, offsets: dict, planned: gaps.Ranges | None) -> str:
        """The batch's key (``contract.batch_key``); a batch that read nothing but met a gap is
        named by its plan instead, apart from any batch that read those offsets."""
        if planned is not None:
            spans = {tp: (lo, hi - 1) for tp, (lo, hi) in planned.items()}
            return "lost-" + contract.batch_key(spans, self.topic_id)
        return contract.batch_key(offsets, self.topic_id)

    # ------------------------------------------------------------------ the applier
    def _hand_over(self, batch_id: int | None, key: str, plan: Plan | None, doc: dict, report=None) -> None:
        """Apply ``plan`` and record the batch: now, or in the applier's thread (``background``)."""
        if not self.background:
            self._apply(batch_id, key, plan, doc, report)
            return
        if self._applier is None:
            self._applier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="profilepipe-applier")
        self._applying = self._applier.submit(self._apply, batch_id, key, plan, doc, report)

    def _apply(self, batch_id: int | None, key: str, plan: Plan | None, doc: dict, report=None) -> None:
        """The applier's step for one written batch: its plan into the aggregates, then the log."""
        assert self.sinks is not None  # set by __post_init__
        began = time.monotonic()
        touched = self.sinks.apply_plan(plan) if plan is not None else 0
        seconds = round(time.monotonic() - began, 3)
        doc = {**doc, "stages": {**doc["stages"], MERGED: seconds}}
        if report is not None:
            report.stages[MERGED] = seconds
        self.stage(MERGED, batch_id, f"{touched} aggregate documents changed ({seconds:.1f}s)")
        self.sinks.record_batch(key, doc)
        self.stage(RECORDED, batch_id, "")

    def _wait_for_applier(self) -> None:
        """Wait until the batch handed over last is applied (raises what the applier raised)."""
        applying, self._applying = self._applying, None
        if applying is not None:
            applying.result()

    def close(self) -> str | None:
        """Wait for the applier to finish the last batch and stop its thread; the applier's
        error as text, if it failed (the next stream's ``recover`` applies that batch)."""
        try:
            self._wait_for_applier()
            return None
        except Exception as exc:  # a store unreachable for longer than sink_retry_seconds
            return f"{type(exc).__name__}: {exc}"
        finally:
            if self._applier is not None:
                self._applier.shutdown(wait=True)
                self._applier = None

    def recover(self) -> int:
        """Apply and record the batches a stopped stream marked written but did not record.

        Their offsets may be committed, so no replay would: run before the query starts
        (``stream.start``), with no other applier running. Returns how many there were.
        """
        assert self.sinks is not None  # set by __post_init__
        pending = self.sinks.written_batches()
        for key, doc in pending:
            self._apply(doc.get("batch_id"), key, self.sinks.read_plan(key), doc)
        return len(pending)

    def warm_up(self, spark) -> None:
        """Pay before the query starts what its first batch would otherwise wait for.

        The transform prepared for today (``_shape``) and one pass of it over the sample
        user of ``data/samples/single_user.json`` as a static Kafka-shaped frame: the JIT,
        code generation and Python workers (bcrypt) of the batch's own job. Nothing is written.
        """
        from profilepipe.sources.samples import samples_dir

        assert self.sinks is not None  # set by __post_init__
        value = (samples_dir() / "single_user.json").read_bytes()
        now = dt.datetime.now(dt.UTC)
        sample = spark.createDataFrame([(None, value, "warm-up", 0, 0, now)], contract.RAW_KAFKA_SCHEMA)
        shaped = self._shape(sample, transform.resolve_as_of(self.settings), self.sinks.erased_keys())
        try:
            transform.batch_pass(shaped)
            transform.stored_rows(shaped).collect()
        finally:
            shaped.unpersist()

    def stage(self, stage: str, batch_id: int | None, detail: str) -> None:
        """Announce a finished step to ``on_stage`` (if any)."""
        if self.on_stage:
            self.on_stage(stage, batch_id, detail)

    def _pass(self, batch_df, as_of: dt.date, erased: set[str]):
        """``(shaped, transform.batch_pass(shaped))``: shaped without the duplicate rule and its
        shuffle, unless the pass finds a user twice; then shaped again with it, and passed again."""
        shaped = self._shape(batch_df, as_of, erased)
        try:
            seen = transform.batch_pass(shaped)
            if seen.repeated:
                shaped.unpersist()
                shaped = self._shape(batch_df, as_of, erased, supersede=True)
                seen = transform.batch_pass(shaped)
        except BaseException:
            shaped.unpersist()
            raise
        return shaped, seen

    def _shape(self, batch_df, as_of: dt.date, erased: set[str], supersede: bool = False):
        """The batch through ``transform.assemble``, persisted; with the duplicate rule if
        ``supersede``. The transform is prepared once per processing date, erasure register
        and rule (``prepared``) and bound to each batch's rows."""
        key = (as_of, frozenset(erased), supersede)
        if key not in self._prepared:
            settings, hasher = self.settings, self.hasher

            def build(raw):
                return transform.assemble(
                    raw, settings, as_of, erased_keys=erased, supersede=supersede, hasher=hasher
                )

            kept = {k: t for k, t in self._prepared.items() if k[:2] == key[:2]}  # today's only
            self._prepared = {**kept, key: PreparedTransform(batch_df.sparkSession, build)}
        return self._prepared[key].bind(batch_df).persist()

    def _write(
        self,
        batch_id: int,
        shaped,
        seen: transform.BatchPass,
        erased: set[str],
        as_of: dt.date,
        key: str,
        stages: dict,
        plan: Plan | None,
    ) -> tuple[int, dict, Plan | None]:
        """Write one shaped batch's outputs: plan, rows, late erasures, dead letters.

        ``plan``: the batch's plan if an earlier attempt wrote one (``Sinks.read_plan``).
        Returns (rows written, dead letters by reason, the plan for the applier or None)."""
        sinks = self.sinks
        assert sinks is not None  # set by __post_init__
        clock = [time.monotonic()]

        def lap(name: str, detail: str) -> None:
            now = time.monotonic()
            stages[name] = now - clock[0]
            self.stage(name, batch_id, f"{detail} ({now - clock[0]:.1f}s)")
            clock[0] = now

        reasons: dict[str, int] = {}
        counts, any_stored = seen.counts, bool(seen.stored)
        if plan is not None:
            lap(AGGREGATES, f"{len(plan.rows)} groups change (the plan of an earlier attempt)")
        elif any_stored:  # before any row is overwritten: the plan depends on the rows it replaces
            previous = sinks.previous_rows([r["user_id"] for r in seen.stored])
            plan = sinks.write_plan(key, contract.delta_rows(seen.stored, previous), as_of.isoformat())
            lap(AGGREGATES, f"{len(plan.rows)} groups change")
        written = sinks.write_rows(transform.stored_rows(shaped)) if any_stored else 0
        lap(ROWS, f"{written} rows upserted")
        late = sinks.erased_keys() - erased if any_stored else set()
        if late:  # forgotten while this batch was being written: delete them again...
            rows = [r for r in seen.stored if contract.erasure_key(r["user_id"]) in late]
            sinks.delete_erased([r["user_id"] for r in rows])
            if rows and plan is not None:  # ...and take back what the plan adds for them
                plan = sinks.write_plan(
                    key, contract.plan_without(plan.rows, rows), plan.as_of or as_of.isoformat()
                )
        if counts[contract.DEAD]:
            letters = dead_letter_messages(transform.dead_letters(shaped))
            reasons = dict(Counter(json.loads(value)["reason"] for _key, value in letters))
            sent = sinks.write_dead_letters(letters, key)
            lap(DEAD_LETTERS, f"{sent} of {len(letters)} sent (the rest were already there)")
        return written, reasons, plan
