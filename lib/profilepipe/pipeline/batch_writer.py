"""One micro-batch: Kafka rows in, rows + aggregates + dead letters + batch log out.

``BatchWriter`` is the query's ``foreachBatch`` function. For each micro-batch it:

1. parses, validates, computes the exact age, splits off minors (GDPR) and forgotten users
   (the erasure register), hashes phone and address (``transform``, ``privacy``; built once
   per processing date and register, then bound to each batch: ``template``), and in
2. the same pass (one Spark job, ``transform.batch_pass``) counts the outcomes, reads the
   batch's Kafka offset ranges, which name the batch (``contract.batch_key``), and brings the
   stored rows' contributions to the driver;
3. plans its change to the aggregates (``contract.delta_rows``: its rows' contributions minus
   those of the rows the table holds for the same users, ``contract.AGGREGATE_RULE``, read
   by key) and writes the plan ahead, before any row is overwritten; a batch replayed before
   it was recorded reuses its plan, and the processing date the plan was computed with;
4. writes, in this order: the stored rows, then deletes again any user forgotten while
   the rows were being written (and takes their contributions out of the plan), the dead
   letters (with their reasons);
5. checks ``contract.BALANCE_RULE`` (every record read has exactly one outcome) and that
   every row to store was written, and marks the batch written (``Sinks.mark_written``,
   with its batch-log document, built by ``batch_log``); the micro-batch ends here and
   Spark commits its offsets;
6. the *applier* then applies the plan to the aggregates (exactly once) and records the
   batch in the batch log: in a thread of its own when ``background`` is set (the stream),
   while Spark runs the next micro-batch, which waits for it before it marks itself
   written. So the aggregates lag the table by at most one batch while a stream runs,
   batches are applied in order, and ``close`` (``stream`` calls it when a query stops)
   waits for the last one. A batch marked written whose stream stopped before its
   applier finished is applied by the next stream's ``recover``, before its query starts.

It talks to the stores only through ``stores.Sinks`` (default ``stores.StoreSinks``): a
test passes a fake ``Sinks`` and drives the writer on a static DataFrame.

**Stage hook.** After each step the writer calls ``on_stage(stage, batch_id, detail)``
with a stage of ``STAGES`` (defined here, once). ``stream.run(verbose=True)`` prints them
(``stage_line``: what ``profilepipe stream -v`` shows). When the environment variable
``PROFILEPIPE_STAGE_EVENTS`` names a file, ``stream.start`` also appends every stage
event to it as a JSON line (``StageEventFile``), and a file ``<that file>.hold`` holding
``"<stage> <n>"`` makes the writer stop at the ``n``-th event of that stage (counted in
this process) until the hold file is removed: the fault tests kill the stream at such an
exact point instead of matching log text.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import functions as F

from profilepipe import contract
from profilepipe.config import Settings
from profilepipe.errors import BatchError
from profilepipe.pipeline import privacy, transform
from profilepipe.pipeline.template import Template
from profilepipe.stores import Letter, Sinks, StoreSinks

#: The steps of a batch, in the order they finish (``dead_letters`` only when there are some;
#: ``mongo`` and ``recorded`` are the applier's).
OFFSETS, PARSED, AGGREGATES, ROWS, DEAD_LETTERS, MERGED, RECORDED = STAGES = (
    *("offsets", "parse+hash", "aggregates", "cassandra", "dead_letters", "mongo", "recorded"),
)
#: The environment variable naming a stage-event file (see the module docstring).
STAGE_EVENTS_ENV = "PROFILEPIPE_STAGE_EVENTS"

StageHook = Callable[[str, "int | None", str], None]  # (stage, batch_id, detail)


@dataclass
class BatchReport:
    batch_id: int
    read: int
    stored: int
    filtered_minor: int
    dead_letter: int
    seconds: float
    erased: int = 0  # users in the erasure register (``profilepipe forget``), not stored
    batch_key: str = ""
    started_at: float = 0.0  # time.time() when the batch began / ended (for end-to-end rates)
    finished_at: float = 0.0
    stages: dict = field(default_factory=dict)  # seconds per step: offsets, counts, cassandra, ...
    dead_letter_reasons: dict = field(default_factory=dict)  # reason -> dead letters of this batch
    jobs: int | None = None  # Spark jobs this batch ran (``JobCounter``; None: not countable)

    @property
    def balanced(self) -> bool:
        """``contract.BALANCE_RULE`` holds for this batch."""
        return contract.balanced(self)


def batch_log(report: BatchReport, offsets: dict, as_of: dt.date, settings: Settings) -> dict:
    """The batch-log document of a written batch (``Sinks.mark_written``, then ``record_batch``)."""
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
    }


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
    return [(_key_bytes(r["key"]), r["value"]) for r in out.collect()]


def _key_bytes(key) -> bytes | None:
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


def _ranges(offsets: dict) -> str:
    return " ".join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(offsets.items()))


def stage_line(stage: str, batch_id: int | None, detail: str) -> str:
    """The line ``profilepipe stream -v`` prints for a stage event."""
    if stage == OFFSETS:
        return f"batch {batch_id}: offsets {detail}"
    if stage == RECORDED:
        return f"batch {batch_id}: recorded in the batch log; Spark commits the offsets next"
    return f"batch {batch_id}: {stage} done: {detail}"


@dataclass
class BatchWriter:
    """The ``foreachBatch`` function: one micro-batch in, the ``Sinks`` written (see the module)."""

    settings: Settings
    sinks: Sinks | None = None  # None: StoreSinks(settings), the real stores
    reports: list[BatchReport] = field(default_factory=list)
    on_batch: Callable[[BatchReport], object] | None = None  # e.g. print
    on_stage: StageHook | None = None  # (stage, batch_id, detail) after each step of a batch
    hasher: Callable | None = None  # (shaped_df, settings) -> phone/address hashed; privacy.hash_pii
    background: bool = False  # the applier in a thread of its own (the stream), else in the batch

    _template: tuple | None = field(default=None, init=False, repr=False)  # (key, Template)
    _applier: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _applying: Future | None = field(default=None, init=False, repr=False)  # the last batch handed over

    def __post_init__(self) -> None:
        if self.sinks is None:
            self.sinks = StoreSinks(self.settings)

    def __call__(self, batch_df, batch_id: int) -> None:
        started, started_at = time.monotonic(), time.time()
        assert self.sinks is not None  # set by __post_init__
        jobs = JobCounter(batch_df)
        # per batch: a long stream rolls over midnight (a replay takes the date of its plan, below)
        as_of = transform.resolve_as_of(self.settings)
        erased = self.sinks.erased_keys()  # forgotten users are dropped, also on a replay
        shaped = self._shape(batch_df, as_of, erased)
        try:
            seen = transform.batch_pass(shaped)  # the one pass over Kafka's rows
            if not seen.offsets:
                return
            key = contract.batch_key(seen.offsets)
            plan = self.sinks.read_plan(key)  # written by an attempt killed before it was recorded
            if plan is not None and plan.as_of and plan.as_of != as_of.isoformat():
                shaped.unpersist()  # a replay on another day: the ages must be those of its plan
                as_of = transform.resolve_as_of(self.settings, plan.as_of)
                shaped = self._shape(batch_df, as_of, erased)
                seen = transform.batch_pass(shaped)
            counts, offsets = seen.counts, seen.offsets
            stages = {OFFSETS: 0.0, PARSED: time.monotonic() - started}  # one pass gives both
            self.stage(OFFSETS, batch_id, f"{_ranges(offsets)} (batch key {key})")
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
        )
        if written != counts[contract.STORED]:
            raise BatchError(f"batch {batch_id}: {counts['stored']} rows to store but {written} written")
        if not report.balanced:
            raise BatchError(f"batch {batch_id}: counts do not add up: {report}")
        doc = batch_log(report, offsets, as_of, self.settings)
        self.sinks.mark_written(key, doc)
        self.reports.append(report)
        if self.on_batch:
            self.on_batch(report)
        self._hand_over(batch_id, key, plan, doc, report)

    # ------------------------------------------------------------------ the applier
    def _hand_over(self, batch_id: int | None, key: str, plan, doc: dict, report=None) -> None:
        """Apply ``plan`` and record the batch: now, or in the applier's thread (``background``)."""
        if not self.background:
            self._apply(batch_id, key, plan, doc, report)
            return
        if self._applier is None:
            self._applier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="profilepipe-applier")
        self._applying = self._applier.submit(self._apply, batch_id, key, plan, doc, report)

    def _apply(self, batch_id: int | None, key: str, plan, doc: dict, report=None) -> None:
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

        The transform's template for today (``_shape``) and one pass of it over the sample
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

    def _shape(self, batch_df, as_of: dt.date, erased: set[str]):
        """The batch parsed, validated, split and hashed (``transform``, ``privacy``), persisted.

        The transform is built once per processing date and erasure register (``template``)
        and bound to each batch's rows."""
        key = (as_of, frozenset(erased))
        if self._template is None or self._template[0] != key:
            settings, hasher = self.settings, self.hasher or privacy.hash_pii

            def build(raw):
                parsed = transform.parse(raw, settings.max_message_bytes)
                return hasher(transform.shape(parsed, settings, as_of, erased_keys=erased), settings)

            self._template = (key, Template(batch_df.sparkSession, build))
        return self._template[1].bind(batch_df).persist()

    def _write(
        self,
        batch_id: int,
        shaped,
        seen: transform.BatchPass,
        erased: set[str],
        as_of: dt.date,
        key: str,
        stages: dict,
        plan,
    ) -> tuple[int, dict, object]:
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
                plan = sinks.write_plan(key, _without(plan.rows, rows), plan.as_of or as_of.isoformat())
        if counts[contract.DEAD]:
            letters = dead_letter_messages(transform.dead_letters(shaped))
            reasons = dict(Counter(json.loads(value)["reason"] for _key, value in letters))
            sent = sinks.write_dead_letters(letters, key)
            lap(DEAD_LETTERS, f"{sent} of {len(letters)} sent (the rest were already there)")
        return written, reasons, plan


def _without(change: list[dict], rows: list[dict]) -> list[dict]:
    """A plan's ``change`` minus the contributions of ``rows`` (users forgotten mid-batch), non-zero."""
    total = {(r["dimension"], r["key"]): [r["count"], r["age_sum"]] for r in change}
    for (dimension, key), (count, age_sum) in contract.group_rows(rows).items():
        t = total.setdefault((dimension, key), [0, 0])
        t[0] -= count
        t[1] -= age_sum
    return [
        {"dimension": d, "key": k, "count": c, "age_sum": a} for (d, k), (c, a) in total.items() if c or a
    ]


class StageEventFile:
    """A stage hook that appends each event to a file as a JSON line, and can hold the batch.

    Line: ``{"stage", "batch_id", "occurrence", "detail", "held", "pid"}`` (``occurrence``:
    the how-many-th event of that stage in this process). If ``<path>.hold`` holds
    ``"<stage> <n>"``, the ``n``-th event of that stage is written with ``"held": true`` and
    the writer then waits (at most ``max_hold`` seconds) until the hold file is removed.
    """

    def __init__(self, path: str | os.PathLike, max_hold: float = 900.0):
        self.path = Path(path)
        self.hold = Path(f"{self.path}.hold")
        self.max_hold = max_hold
        self.seen: Counter = Counter()
        self.lock = threading.Lock()  # the batch and the applier write events from two threads

    def __call__(self, stage: str, batch_id: int | None, detail: str = "") -> None:
        with self.lock:
            self.seen[stage] += 1
            held = self._holds(stage, self.seen[stage])
            event = {"stage": stage, "batch_id": batch_id, "occurrence": self.seen[stage]}
            event.update(detail=detail, held=held, pid=os.getpid())
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(event) + "\n")
        deadline = time.monotonic() + self.max_hold
        while held and self.hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _holds(self, stage: str, occurrence: int) -> bool:
        try:
            want = self.hold.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return False
        return want == [stage, str(occurrence)]


def stage_hook_from_env() -> StageEventFile | None:
    """A ``StageEventFile`` on ``$PROFILEPIPE_STAGE_EVENTS``, or None when it is not set."""
    path = os.environ.get(STAGE_EVENTS_ENV)
    return StageEventFile(path) if path else None
