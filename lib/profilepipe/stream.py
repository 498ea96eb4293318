"""The Structured Streaming query: Kafka -> transform -> Cassandra + MongoDB + dead letters.

Read top to bottom:

1. ``read_kafka``   - the Kafka source (key, value, topic, partition, offset, timestamp);
2. ``BatchWriter``  - for each micro-batch: parse, validate, exact age, GDPR split, hash,
                      then write rows, aggregates and dead letters from that same batch, and
                      check that ``read = stored + filtered_minor + dead_letter``;
3. ``start`` / ``run`` - the query with its checkpoint and trigger; bounded runs
                      (``availableNow``, or N seconds) always stop the query.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import functions as F

from . import aggregates, privacy, sinks, transform
from .config import Settings
from .spark import get_spark

QUERY_NAME = "profilepipe_users"


def read_kafka(spark, settings: Settings):
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.kafka_topic)
        .option("startingOffsets", settings.starting_offsets)
        .option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
        .option("failOnDataLoss", "false")
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
    batch_key: str = ""
    started_at: float = 0.0  # time.time() when the batch began / ended (for end-to-end rates)
    finished_at: float = 0.0
    stages: dict = field(default_factory=dict)  # seconds per step: offsets, counts, cassandra, ...

    @property
    def balanced(self) -> bool:
        return self.read == self.stored + self.filtered_minor + self.dead_letter


@dataclass
class BatchWriter:
    """The ``foreachBatch`` function: one micro-batch in, three sinks written."""

    settings: Settings
    reports: list[BatchReport] = field(default_factory=list)
    on_batch: object = None  # optional callable(BatchReport), e.g. print
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
            counts, written = self._write(raw, settings, as_of, key, self.hasher or privacy.hash_pii, stages)
        finally:
            raw.unpersist()
        report = BatchReport(
            batch_id=batch_id,
            read=counts["read"],
            stored=written,
            filtered_minor=counts["filtered_minor"],
            dead_letter=counts["dead_letter"],
            seconds=round(time.monotonic() - started, 3),
            batch_key=key,
            started_at=started_at,
            finished_at=time.time(),
            stages={k: round(v, 3) for k, v in stages.items()},
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
                "dead_letter": report.dead_letter,
                "seconds": report.seconds,
                "as_of": as_of.isoformat(),
                "pii_mode": settings.pii_mode,
                "offsets": {f"{t}:{p}": [lo, hi] for (t, p), (lo, hi) in sorted(offsets.items())},
                "finished_at": dt.datetime.now(dt.UTC),
            },
        )
        self.reports.append(report)
        if self.on_batch:
            self.on_batch(report)

    @staticmethod
    def _write(raw, settings: Settings, as_of: dt.date, key: str, hasher, stages: dict) -> tuple[dict, int]:
        """Transform one batch and write its three outputs; returns (counts, rows written)."""

        def lap(name: str, since: float) -> float:
            now = time.monotonic()
            stages[name] = now - since
            return now

        t = time.monotonic()
        shaped = hasher(transform.shape(transform.parse(raw), settings, as_of), settings).persist()
        try:
            counts = transform.outcome_counts(shaped)  # runs parse, validation and hashing once
            t = lap("parse+hash", t)
            stored = transform.stored_rows(shaped)
            written = sinks.write_cassandra(stored, settings) if counts["stored"] else 0
            t = lap("cassandra", t)
            rows = [r.asDict() for r in aggregates.compute(stored).collect()] if counts["stored"] else []
            t = lap("aggregates", t)
            sinks.merge_aggregates(settings, rows, key)
            t = lap("mongo", t)
            if counts["dead_letter"]:
                sinks.write_dead_letters(transform.dead_letters(shaped), settings)
                t = lap("dead_letters", t)
        finally:
            shaped.unpersist()
        return counts, written


@dataclass
class StreamResult:
    batches: int
    read: int
    stored: int
    filtered_minor: int
    dead_letter: int
    seconds: float

    def describe(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0.0
        return (
            f"batches={self.batches} read={self.read} stored={self.stored} "
            f"filtered_minor={self.filtered_minor} dead_letter={self.dead_letter} "
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
) -> StreamHandle:
    """Start the query. ``trigger``: ``processing`` (every ``trigger_seconds``) or ``available_now``."""
    if reset and Path(settings.checkpoint_dir).exists():
        shutil.rmtree(settings.checkpoint_dir)
    privacy.check_settings(settings)  # refuse early, e.g. hmac mode without a key
    spark = get_spark(settings, app_name="profilepipe-stream")
    writer = BatchWriter(settings, on_batch=on_batch, hasher=hasher)
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
) -> StreamResult:
    """Run the query in the foreground.

    ``until_idle``: process what the topic holds now, then stop (``availableNow``).
    ``seconds``: stream for that long, then stop. Neither: until interrupted (Ctrl-C).
    The query is stopped in every case, errors included.
    """

    def show(report: BatchReport) -> None:
        if progress:
            progress(
                f"batch {report.batch_id}: read={report.read} stored={report.stored} "
                f"filtered_minor={report.filtered_minor} dead_letter={report.dead_letter} "
                f"({report.seconds:.1f}s)"
            )

    handle = start(
        settings, trigger="available_now" if until_idle else "processing", on_batch=show, reset=reset
    )
    try:
        if until_idle:
            if not handle.query.awaitTermination(timeout):
                raise TimeoutError(f"stream did not catch up within {timeout:.0f}s")
        elif seconds is not None:
            handle.query.awaitTermination(seconds)
        else:
            handle.query.awaitTermination()
        exc = handle.query.exception()
        if exc is not None:
            raise RuntimeError(f"streaming query failed: {exc}")
    finally:
        stop_gracefully(handle.query)
    return handle.result()
