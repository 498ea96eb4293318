"""The Structured Streaming query: Kafka -> transform -> Cassandra + MongoDB + dead letters.

Read top to bottom:

1. ``read_kafka``   - the Kafka source (``contract.RAW_KAFKA_SCHEMA``: key, value, topic,
                      partition, offset, timestamp); ``start`` takes any streaming source
                      of that shape (a test reads a folder of JSON lines);
2. ``BatchWriter``  - (``batch_writer``) for each micro-batch: parse, validate, exact age,
                      GDPR split, erasure register, hash, then write rows, aggregates and
                      dead letters from that same batch through a ``stores.Sinks``, and
                      check ``contract.BALANCE_RULE``;
3. ``start`` / ``run`` - the query with its checkpoint and trigger; bounded runs
                      (``availableNow``, or N seconds) always stop the query; ``run``
                      restarts a failed query from its checkpoint and stops on Ctrl-C.

``run`` also writes each started query to ``$PROFILEPIPE_STAGE_EVENTS`` (when set) as the
event ``QUERY_STARTED`` (batch id None), so a test can wait for it.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from profilepipe import contract
from profilepipe.config import Settings
from profilepipe.errors import QueryFailed
from profilepipe.pipeline import privacy
from profilepipe.pipeline.batch_writer import (
    BatchReport,
    BatchWriter,
    StageEventFile,
    StageHook,
    stage_hook_from_env,
    stage_line,
)
from profilepipe.pipeline.spark import get_spark
from profilepipe.stores import Sinks

__all__ = [
    "QUERY_NAME",
    "QUERY_STARTED",
    "BatchReport",
    "BatchWriter",
    "StreamHandle",
    "StreamResult",
    "read_kafka",
    "run",
    "start",
    "stop_gracefully",
]

QUERY_NAME = "profilepipe_users"
QUERY_STARTED = "query_started"  # the stage event ``run`` sends when a query has started


def read_partitions(spark, settings: Settings) -> int:
    """How many Spark partitions a micro-batch is read into (``spark_read_partitions``).

    0 (the ``throughput`` mode's): the topic's partitions times Spark's cores: Spark splits
    each Kafka partition's range of the batch into that many pieces (``minPartitions``), so
    the tasks of the first stage, which parses and validates, come in whole rounds on the
    cores (3 partitions on 2 cores are 3 tasks, the last one running alone; 6 tasks keep both
    busy). The ``latency`` mode's 1 keeps one task per Kafka partition (Spark never merges
    them): its batches are small, and each task costs a start-up (``config.STREAM_MODES``).
    """
    return settings.spark_read_partitions or settings.kafka_partitions * spark.sparkContext.defaultParallelism


def read_kafka(spark, settings: Settings):
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.kafka_topic)
        .option("startingOffsets", settings.starting_offsets)
        .option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
        .option("minPartitions", read_partitions(spark, settings))
        .option("failOnDataLoss", "false")
        # ride out a broker restart (~10 s) before failing the query; a failed query is
        # restarted from its checkpoint by ``run``
        .option("fetchOffset.numRetries", "15")
        .option("fetchOffset.retryIntervalMs", "2000")
        .load()
    )


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
    events: StageEventFile | None = None  # the $PROFILEPIPE_STAGE_EVENTS hook, if set

    def progress(self) -> list[dict]:
        """Rows and rates of the recent micro-batches that read something."""
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
        """Stop after the micro-batch in flight (if any) has finished and its aggregates are
        applied, then return the totals."""
        stop_gracefully(self.query, wait)
        error = self.writer.close()
        if error:
            raise QueryFailed(f"the aggregates of the last batch were not applied: {error}")
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


def _both(*hooks: StageHook | None) -> StageHook | None:
    """One stage hook calling each of ``hooks`` that is set, in order."""
    live = [h for h in hooks if h is not None]
    if len(live) <= 1:
        return live[0] if live else None

    def call(stage: str, batch_id: int | None, detail: str) -> None:
        for hook in live:
            hook(stage, batch_id, detail)

    return call


def start(
    settings: Settings,
    trigger: str = "processing",
    on_batch: Callable[[BatchReport], object] | None = None,
    reset: bool = False,
    hasher: Callable | None = None,
    on_stage: StageHook | None = None,
    sinks: Sinks | None = None,
    source: Callable | None = None,
) -> StreamHandle:
    """Start the query. ``trigger``: ``processing`` (every ``trigger_seconds``) or ``available_now``.

    ``on_batch`` receives each ``BatchReport``; ``on_stage`` each finished step
    ``(stage, batch_id, detail)`` (``batch_writer.STAGES``; also written to
    ``$PROFILEPIPE_STAGE_EVENTS`` when that is set). ``sinks``: where the batches go
    (default ``stores.StoreSinks(settings)``). ``source(spark, settings)``: the streaming
    DataFrame read (default ``read_kafka``), in the Kafka rows' shape.
    """
    if reset and Path(settings.checkpoint_dir).exists():
        shutil.rmtree(settings.checkpoint_dir)
    privacy.check_settings(settings)  # refuse early, e.g. hmac mode without a key
    spark = get_spark(settings, app_name="profilepipe-stream")
    events = stage_hook_from_env()
    writer = BatchWriter(
        settings,
        sinks=sinks,
        on_batch=on_batch,
        hasher=hasher,
        on_stage=_both(on_stage, events),
        background=True,  # each batch's aggregates applied while Spark runs the next batch
    )
    writer.recover()  # batches a stopped stream wrote but did not apply
    writer.warm_up(spark)  # the first batch's own start-up costs, paid before the query starts
    stream_writer = (
        (source or read_kafka)(spark, settings)
        .writeStream.queryName(QUERY_NAME)
        .foreachBatch(writer)
        .option("checkpointLocation", settings.checkpoint_dir)
    )
    if trigger == "available_now":
        stream_writer = stream_writer.trigger(availableNow=True)
    else:
        stream_writer = stream_writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
    return StreamHandle(query=stream_writer.start(), writer=writer, started=time.monotonic(), events=events)


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

    (Long on purpose: start, wait, stop and the restart policy in one loop, read at once.)

    ``until_idle``: process what the topic holds now, then stop (``availableNow``).
    ``seconds``: stream for that long, then stop. Neither: until interrupted (Ctrl-C).
    ``progress``: called with one line per batch (and per step with ``verbose``:
    ``batch_writer.stage_line``).

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
                on_stage=(lambda stage, b, detail: say(stage_line(stage, b, detail))) if verbose else None,
            )
            say(f"stream: query {QUERY_NAME} started")
            if handle.events:
                handle.events(QUERY_STARTED, None, QUERY_NAME)
            try:
                error = _await(handle.query, until_idle, seconds, began, timeout, stop_requested)
            finally:
                stop_gracefully(handle.query)
                unapplied = handle.writer.close()  # the last batch's aggregates, applied
                reports.extend(handle.writer.reports)
            error = error or unapplied
            if error is None or stop_requested.is_set():
                return StreamResult.of(reports, time.monotonic() - began)
            if restarts >= settings.stream_restarts:
                raise QueryFailed(
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
