"""The Structured Streaming query: Kafka -> transform -> Cassandra + MongoDB + dead letters.

Read top to bottom:

1. ``read_kafka``   - the Kafka source (key, value, topic, partition, offset, timestamp);
2. ``BatchWriter``  - for each micro-batch: parse, validate, exact age, GDPR split, erasure
                      register, hash, then write rows, aggregates and dead letters from that
                      same batch, and check that
                      ``read = stored + filtered_minor + erased + dead_letter``;
3. ``start`` / ``run`` - the query with its checkpoint and trigger; bounded runs
                      (``availableNow``, or N seconds) always stop the query; ``run``
                      restarts a failed query from its checkpoint and stops on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import functions as F

from profilepipe import contract
from profilepipe.config import Settings
from profilepipe.pipeline import aggregates, privacy, transform
from profilepipe.pipeline.spark import get_spark
from profilepipe.stores import sinks

QUERY_NAME = "profilepipe_users"


def read_kafka(spark, settings: Settings):
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.kafka_topic)
        .option("startingOffsets", settings.starting_offsets)
        .option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
        .option("failOnDataLoss", "false")
        # ride out a broker restart (~10 s) before failing the query; a failed query is
        # restarted from its checkpoint by ``run``
        .option("fetchOffset.numRetries", "15")
        .option("fetchOffset.retryIntervalMs", "2000")
        .load()
    )


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

    @property
    def balanced(self) -> bool:
        """``contract.BALANCE_RULE`` holds for this batch."""
        return contract.balanced(self)


@dataclass
class BatchWriter:
    """The ``foreachBatch`` function: one micro-batch in, three sinks written."""

    settings: Settings
    reports: list[BatchReport] = field(default_factory=list)
    on_batch: object = None  # optional callable(BatchReport), e.g. print
    on_stage: object = None  # optional callable(str): one line per finished step of a batch
    hasher: object = None  # (shaped_df, settings) -> the same with phone/address hashed; privacy.hash_pii

    def __call__(self, batch_df, batch_id: int) -> None:
        started = time.monotonic()
        started_at = time.time()
        settings = self.settings
        as_of = transform.resolve_as_of(settings)  # per batch: a long stream rolls over midnight

        stages: dict[str, float] = {}
        raw = batch_df.persist()  # read Kafka once; every step below reuses it
        try:
            offsets = {
                (r["topic"], r["partition"]): (r["lo"], r["hi"])
                for r in raw.groupBy("topic", "partition")
                .agg(F.min("offset").alias("lo"), F.max("offset").alias("hi"))
                .collect()
            }
            if not offsets:
                return
            key = sinks.batch_key(offsets)
            stages["offsets"] = time.monotonic() - started
            self._note(batch_id, f"offsets {_ranges(offsets)} (batch key {key})")
            counts, written, reasons = self._write(batch_id, raw, as_of, key, stages)
        finally:
            raw.unpersist()
        report = BatchReport(
            batch_id=batch_id,
            read=counts["read"],
            stored=written,
            filtered_minor=counts["filtered_minor"],
            dead_letter=counts["dead_letter"],
            erased=counts["erased"],
            seconds=round(time.monotonic() - started, 3),
            batch_key=key,
            started_at=started_at,
            finished_at=time.time(),
            stages={k: round(v, 3) for k, v in stages.items()},
            dead_letter_reasons=reasons,
        )
        if written != counts["stored"]:
            raise RuntimeError(f"batch {batch_id}: {counts['stored']} rows to store but {written} written")
        if not report.balanced:
            raise RuntimeError(f"batch {batch_id}: counts do not add up: {report}")
        sinks.record_batch(
            settings,
            key,
            {
                "batch_id": batch_id,
                "read": report.read,
                "stored": report.stored,
                "filtered_minor": report.filtered_minor,
                "erased": report.erased,
                "dead_letter": report.dead_letter,
                "dead_letter_reasons": dict(sorted(reasons.items())),
                "seconds": report.seconds,
                "as_of": as_of.isoformat(),
                "pii_mode": settings.pii_mode,
                "offsets": {f"{t}:{p}": [lo, hi] for (t, p), (lo, hi) in sorted(offsets.items())},
                "finished_at": dt.datetime.now(dt.UTC),
            },
        )
        self.reports.append(report)
        self._note(batch_id, "recorded in the batch log; Spark commits the offsets next")
        if self.on_batch:
            self.on_batch(report)

    def _note(self, batch_id: int, text: str) -> None:
        if self.on_stage:
            self.on_stage(f"batch {batch_id}: {text}")

    def _write(self, batch_id: int, raw, as_of: dt.date, key: str, stages: dict) -> tuple[dict, int, dict]:
        """Transform one batch and write its three outputs.

        Returns (counts, rows written, dead letters by reason)."""
        settings, hasher = self.settings, self.hasher or privacy.hash_pii

        def lap(name: str, since: float, detail: str) -> float:
            now = time.monotonic()
            stages[name] = now - since
            self._note(batch_id, f"{name} done: {detail} ({now - since:.1f}s)")
            return now

        t = time.monotonic()
        reasons: dict[str, int] = {}
        erased = sinks.erased_keys(settings)  # forgotten users are dropped, also on a replay
        parsed = transform.parse(raw, settings.max_message_bytes)
        shaped = hasher(transform.shape(parsed, settings, as_of, erased_keys=erased), settings).persist()
        try:
            counts = transform.outcome_counts(shaped)  # runs parse, validation and hashing once
            t = lap("parse+hash", t, ", ".join(f"{k}={v}" for k, v in counts.items()))
            stored = transform.stored_rows(shaped)
            written = sinks.write_cassandra(stored, settings) if counts["stored"] else 0
            t = lap("cassandra", t, f"{written} rows upserted")
            late = sinks.erased_keys(settings) - erased if counts["stored"] else set()
            if late:  # forgotten while this batch was being written: delete them again
                ids = [r["user_id"] for r in stored.where(F.sha2("user_id", 256).isin(list(late))).collect()]
                sinks.delete_erased(settings, ids)
            rows = [r.asDict() for r in aggregates.compute(stored).collect()] if counts["stored"] else []
            t = lap("aggregates", t, f"{len(rows)} groups")
            touched = sinks.merge_aggregates(settings, rows, key)
            t = lap("mongo", t, f"{touched} aggregate documents merged")
            if counts["dead_letter"]:
                letters = sinks.dead_letter_messages(transform.dead_letters(shaped))
                for _key, value in letters:
                    reason = json.loads(value)["reason"]
                    reasons[reason] = reasons.get(reason, 0) + 1
                sent = sinks.write_dead_letters(letters, settings, key)
                t = lap("dead_letters", t, f"{sent} of {len(letters)} sent (the rest were already there)")
        finally:
            shaped.unpersist()
        return counts, written, reasons


def _ranges(offsets: dict) -> str:
    return " ".join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(offsets.items()))


@dataclass
class StreamResult:
    batches: int
    read: int
    stored: int
    filtered_minor: int
    dead_letter: int
    seconds: float
    erased: int = 0

    @property
    def balanced(self) -> bool:
        """``contract.BALANCE_RULE`` holds for the sum of the batches."""
        return contract.balanced(self)

    def describe(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0.0
        erased = f" erased={self.erased}" if self.erased else ""
        return (
            f"batches={self.batches} read={self.read} stored={self.stored} "
            f"filtered_minor={self.filtered_minor}{erased} dead_letter={self.dead_letter} "
            f"seconds={self.seconds:.1f} ({rate:,.0f} records/s)"
        )

    @classmethod
    def of(cls, reports: list[BatchReport], seconds: float) -> StreamResult:
        return cls(
            batches=len(reports),
            read=sum(r.read for r in reports),
            stored=sum(r.stored for r in reports),
            filtered_minor=sum(r.filtered_minor for r in reports),
            dead_letter=sum(r.dead_letter for r in reports),
            seconds=seconds,
            erased=sum(r.erased for r in reports),
        )


@dataclass
class StreamHandle:
    """A running query and its writer: ``progress()``, ``stop()``, ``result()``."""

    query: object
    writer: BatchWriter
    started: float

    def progress(self) -> list[dict]:
        return [
            {
                "batch": p["batchId"],
                "rows": p["numInputRows"],
                "input_rows_per_s": round(p.get("inputRowsPerSecond") or 0.0, 1),
                "processed_rows_per_s": round(p.get("processedRowsPerSecond") or 0.0, 1),
                "duration_ms": p["durationMs"].get("triggerExecution"),
            }
            for p in self.query.recentProgress
            if p["numInputRows"]
        ]

    def stop(self, wait: float = 120.0) -> StreamResult:
        """Stop after the micro-batch in flight (if any) has finished, then return the totals."""
        stop_gracefully(self.query, wait)
        return self.result()

    def result(self) -> StreamResult:
        return StreamResult.of(self.writer.reports, time.monotonic() - self.started)


def stop_gracefully(query, wait: float = 120.0) -> None:
    """Let a running micro-batch finish (up to ``wait`` seconds), then stop the query.

    Stopping in the middle of a batch is safe (the batch is replayed with the same offsets
    and the sinks are idempotent) but noisy: Spark cancels the batch's jobs.
    """
    deadline = time.monotonic() + wait
    while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
        time.sleep(0.2)
    query.stop()


def start(
    settings: Settings,
    trigger: str = "processing",
    on_batch=None,
    reset: bool = False,
    hasher=None,
    on_stage=None,
) -> StreamHandle:
    """Start the query. ``trigger``: ``processing`` (every ``trigger_seconds``) or ``available_now``.

    ``on_batch`` receives each ``BatchReport``; ``on_stage`` one line per finished step.
    """
    if reset and Path(settings.checkpoint_dir).exists():
        shutil.rmtree(settings.checkpoint_dir)
    privacy.check_settings(settings)  # refuse early, e.g. hmac mode without a key
    spark = get_spark(settings, app_name="profilepipe-stream")
    writer = BatchWriter(settings, on_batch=on_batch, hasher=hasher, on_stage=on_stage)
    stream_writer = (
        read_kafka(spark, settings)
        .writeStream.queryName(QUERY_NAME)
        .foreachBatch(writer)
        .option("checkpointLocation", settings.checkpoint_dir)
    )
    if trigger == "available_now":
        stream_writer = stream_writer.trigger(availableNow=True)
    else:
        stream_writer = stream_writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
    return StreamHandle(query=stream_writer.start(), writer=writer, started=time.monotonic())


def run(
    settings: Settings,
    until_idle: bool = False,
    seconds: float | None = None,
    reset: bool = False,
    progress=None,
    timeout: float = 3600.0,
    verbose: bool = False,
) -> StreamResult:
    """Run the query in the foreground, restarting it from its checkpoint when it fails.

    ``until_idle``: process what the topic holds now, then stop (``availableNow``).
    ``seconds``: stream for that long, then stop. Neither: until interrupted (Ctrl-C).
    ``progress``: called with one line per batch (and per step with ``verbose``).

    A query fails when a store stays unreachable longer than ``sink_retry_seconds``
    or Kafka longer than the source's retries. It is then started again from its
    checkpoint, at most ``stream_restarts`` times, waiting 5 s, 10 s, 20 s... (max 60 s):
    Spark re-reads the offsets of the batch that failed, and the sinks are idempotent,
    so nothing is lost or counted twice. The query is stopped in every case.
    """
    say = progress or (lambda _line: None)

    def show(report: BatchReport) -> None:
        erased = f" erased={report.erased}" if report.erased else ""
        say(
            f"batch {report.batch_id}: read={report.read} stored={report.stored} "
            f"filtered_minor={report.filtered_minor}{erased} dead_letter={report.dead_letter} "
            f"({report.seconds:.1f}s)"
        )

    began = time.monotonic()
    reports: list[BatchReport] = []
    restarts = 0
    privacy.check_settings(settings)
    get_spark(settings, app_name="profilepipe-stream")  # first: the SparkContext sets its own Ctrl-C handler
    with _ctrl_c_stops(say) as stop_requested:
        while True:
            handle = start(
                settings,
                trigger="available_now" if until_idle else "processing",
                on_batch=show,
                reset=reset and restarts == 0,
                on_stage=say if verbose else None,
            )
            say(f"stream: query {QUERY_NAME} started")
            try:
                error = _await(handle.query, until_idle, seconds, began, timeout, stop_requested)
            finally:
                stop_gracefully(handle.query)
                reports.extend(handle.writer.reports)
            if error is None or stop_requested.is_set():
                return StreamResult.of(reports, time.monotonic() - began)
            if restarts >= settings.stream_restarts:
                raise RuntimeError(
                    f"streaming query failed {restarts + 1} times, giving up "
                    f"({Settings.env_name('stream_restarts')}={settings.stream_restarts}): {error}"
                )
            restarts += 1
            wait = min(5.0 * 2 ** (restarts - 1), 60.0)
            say(
                f"query failed: {_first_line(error)}; restarting from the checkpoint in {wait:.0f}s "
                f"(restart {restarts} of {settings.stream_restarts})"
            )
            if stop_requested.wait(wait):
                return StreamResult.of(reports, time.monotonic() - began)


def _await(
    query, until_idle: bool, seconds: float | None, began: float, timeout: float, stop: threading.Event
) -> str | None:
    """Wait as ``run`` asks (or until ``stop`` is set); the query's error text if it failed."""
    from pyspark.errors import StreamingQueryException

    try:
        while not query.awaitTermination(1.0):  # short waits: Ctrl-C is seen within a second
            elapsed = time.monotonic() - began
            if stop.is_set() or (seconds is not None and not until_idle and elapsed >= seconds):
                return None
            if until_idle and elapsed > timeout:
                raise TimeoutError(f"stream did not catch up within {timeout:.0f}s")
    except StreamingQueryException as exc:
        return str(exc)
    exc = query.exception()
    return None if exc is None else str(exc)


@contextlib.contextmanager
def _ctrl_c_stops(say):
    """While streaming, Ctrl-C (SIGINT, also Jupyter's interrupt) stops after the batch in
    flight instead of breaking the Spark connection mid-call; a second Ctrl-C aborts."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(_signum, _frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say("stream: stopping after the batch in flight (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _first_line(text: str, limit: int = 240) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), text)
    return line if len(line) <= limit else line[: limit - 3] + "..."
