"""The Structured Streaming query: Kafka -> ``BatchWriter`` -> the stores.

The query is composed of three public steps, which ``start`` (``profilepipe stream``) and
notebook 02 put together the same way::

    writer = batch_writer(settings)            # the foreachBatch function, ready
    query = (
        read_kafka(spark, settings)            # readStream.format("kafka").options(kafka_options)
        .writeStream.queryName(QUERY_NAME)
        .foreachBatch(writer)
        .option("checkpointLocation", settings.checkpoint_dir)
        .trigger(processingTime=...)           # or availableNow=True
        .start()
    )
    ...
    close(query, writer)                       # stop; the last batch's aggregates applied

``start`` takes any streaming source of Kafka's shape (``contract.RAW_KAFKA_SCHEMA``; a test
reads a folder of JSON lines) and returns a ``StreamHandle``; ``run`` is the foreground loop
of ``profilepipe stream``: bounded runs always stop the query, a failed query is restarted
from its checkpoint (docs/ARCHITECTURE.md#failure-model), Ctrl-C stops after the batch
in flight.
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
from typing import TYPE_CHECKING

from profilepipe import kafka_client
from profilepipe.config import Settings
from profilepipe.errors import QueryFailed
from profilepipe.pipeline import gaps, privacy
from profilepipe.pipeline.report import OFFSETS, BatchReport, Counts, StageHook, stage_line
from profilepipe.pipeline.spark import get_spark
from profilepipe.pipeline.stage_events import StageEventFile, stage_hook_from_env
from profilepipe.stores import Sinks

if TYPE_CHECKING:  # imported where a writer is made: it brings pyspark, which the unit tier has not
    from profilepipe.pipeline.batch_writer import BatchWriter

__all__ = [
    "QUERY_NAME",
    "QUERY_STARTED",
    "BatchReport",
    "Counts",
    "StreamHandle",
    "batch_writer",
    "close",
    "kafka_options",
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


def kafka_options(spark, settings: Settings) -> dict[str, str]:
    """The Kafka source's options: where to read, how much per micro-batch, and what to do
    when offsets are gone (``failOnDataLoss``) or a broker restarts (``fetchOffset.*``)."""
    return {
        "kafka.bootstrap.servers": settings.kafka_bootstrap,
        "subscribe": settings.kafka_topic,
        "startingOffsets": settings.starting_offsets,  # a new checkpoint only; then the checkpoint's
        "maxOffsetsPerTrigger": str(settings.max_offsets_per_trigger),
        "minPartitions": str(read_partitions(spark, settings)),
        "failOnDataLoss": "false",
        # ride out a broker restart (~10 s) before failing the query; a failed query is
        # restarted from its checkpoint by ``run``
        "fetchOffset.numRetries": "15",
        "fetchOffset.retryIntervalMs": "2000",
    }


def read_kafka(spark, settings: Settings):
    """The streaming DataFrame of the users topic (``contract.RAW_KAFKA_SCHEMA``)."""
    return spark.readStream.format("kafka").options(**kafka_options(spark, settings)).load()


def batch_writer(
    settings: Settings,
    on_batch: Callable[[BatchReport], object] | None = None,
    hasher: Callable | None = None,
    on_stage: StageHook | None = None,
    sinks: Sinks | None = None,
    accept_loss: bool = False,
) -> BatchWriter:
    """The query's ``foreachBatch`` function, ready to run on ``settings.checkpoint_dir``.

    Refuses bad settings early (e.g. hmac mode without a key) and a table of the other
    storage profile; applies the batches a stopped stream wrote but did not apply
    (``BatchWriter.recover``); checks that the checkpoint's offsets are of the topic there
    now (``check_topic``); pays the first batch's start-up costs on one in-memory user
    (``BatchWriter.warm_up``: nothing is stored). ``on_batch`` receives each ``BatchReport``,
    ``on_stage`` each finished step ``(stage, batch_id, detail)`` (``report.STAGES``).
    ``accept_loss``: offsets Kafka no longer has are recorded as accepted and the stream goes
    on (``profilepipe stream --accept-loss``), whatever ``on_data_loss`` says.
    """
    from profilepipe.pipeline.batch_writer import BatchWriter

    privacy.check_settings(settings)
    if sinks is None:  # the real table: never rows of one storage profile into the other's table
        from profilepipe import stores

        stores.connect(settings).cassandra.check_profile()
    spark = get_spark(settings, app_name="profilepipe-stream")
    writer = BatchWriter(
        settings,
        sinks=sinks,
        on_batch=on_batch,
        hasher=hasher,
        on_stage=on_stage,
        background=True,  # each batch's aggregates applied while Spark runs the next batch
        checkpoint_dir=settings.checkpoint_dir,
        accept_loss=accept_loss,
    )
    writer.recover()
    if sinks is None:  # the real topic (Kafka restarting: waited for, as the stores are)
        from profilepipe import retry

        topic_id = retry.call(
            lambda: kafka_client.topic_id(settings, settings.kafka_topic),
            "kafka: the topic's id",
            settings.sink_retry_seconds,
        )
        writer.topic_id = check_topic(settings, writer, topic_id)
        logs = retry.call(
            lambda: kafka_client.log_offsets(settings, settings.kafka_topic),
            "kafka: the log start offsets",
            settings.sink_retry_seconds,
        )
        check_positions(settings, writer, logs)
    writer.warm_up(spark)
    return writer


def check_positions(settings: Settings, writer: BatchWriter, logs: dict[int, tuple[int, int]]) -> None:
    """Before the query starts: stop (``DataLoss``, policy ``stop``) when Kafka's log start has
    passed where the checkpoint goes on from, with the same line the first batch would give.

    ``logs``: ``{partition: (log start, end)}`` (``kafka_client.log_offsets``). Accepted or
    ``record``, the first batch counts and records the loss exactly (``gaps.find``).
    """
    positions = gaps.committed_offsets(settings.checkpoint_dir)
    if not positions:
        return
    lost = [
        gaps.Gap(topic, partition, at, logs[partition][0])
        for (topic, partition), at in sorted(positions.items())
        if topic == settings.kafka_topic and partition in logs and logs[partition][0] > at
    ]
    writer.check_loss(lost)


def check_topic(settings: Settings, writer: BatchWriter, topic_id: str) -> str:
    """Whether the checkpoint's offsets are of the topic there now; the id batch keys take.

    A topic deleted and created again under the same name (outside ``profilepipe reset``)
    starts its offsets at 0 while the checkpoint holds the old topic's: Spark would skip the
    new topic's messages up to the old offsets, or read them under old batch keys. So the
    checkpoint records the topic's id (``gaps.TopicMarker``); on another id the stream stops
    (``on_data_loss`` stop: ``DataLoss``), or, accepted or ``record``, records the old topic's
    unread remainder as lost, moves the checkpoint aside (``<checkpoint>.topic-<old id>``) and
    reads the new topic from its first message, under batch keys of its own.
    """
    checkpoint = Path(settings.checkpoint_dir)
    marker = gaps.TopicMarker.read(checkpoint)
    positions = gaps.committed_offsets(checkpoint)
    lost = gaps.recreated(marker, topic_id, positions)
    if lost:
        assert marker is not None  # recreated() finds gaps only against a marker
        writer.stage(OFFSETS, None, f"LOST: {gaps.describe(lost)}")
        writer.check_loss(lost)
        writer.record_loss(lost, "recreated-" + marker.topic_id)
        aside = checkpoint.with_name(f"{checkpoint.name}.topic-{marker.topic_id}")
        shutil.rmtree(aside, ignore_errors=True)
        checkpoint.rename(aside)
        marker = gaps.TopicMarker(settings.kafka_topic, topic_id, recreated_from=marker.topic_id)
    if topic_id and (marker is None or marker.topic_id != topic_id):
        marker = gaps.TopicMarker(settings.kafka_topic, topic_id)
    if marker is not None and topic_id:
        marker.write(checkpoint)
    return marker.key_id if marker is not None else ""


def close(query, writer: BatchWriter, wait: float = 120.0) -> Counts:
    """Stop ``query`` after the micro-batch in flight, wait until the last batch's aggregates
    are applied, and return the totals of the batches ``writer`` wrote."""
    stop_gracefully(query, wait)
    error = writer.close()
    if error:
        raise QueryFailed(f"the aggregates of the last batch were not applied: {error}")
    return Counts.total(writer.reports, sum(r.seconds for r in writer.reports))


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

    def stop(self, wait: float = 120.0) -> Counts:
        """Stop after the micro-batch in flight (if any) has finished and its aggregates are
        applied, then return the totals (``result``)."""
        close(self.query, self.writer, wait)
        return self.result()

    def result(self) -> Counts:
        """The counts of the batches written so far, over the seconds since the start."""
        return Counts.total(self.writer.reports, time.monotonic() - self.started)


def stop_gracefully(query, wait: float = 120.0) -> None:
    """Let a running micro-batch finish (up to ``wait`` seconds), then stop the query.

    Stopping in the middle of a batch is safe (docs/ARCHITECTURE.md#failure-model) but
    noisy: Spark cancels the batch's jobs.
    """
    deadline = time.monotonic() + wait
    while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
        time.sleep(0.2)
    query.stop()


def _chain(first: StageHook | None, then: StageHook | None) -> StageHook | None:
    """One stage hook calling ``first``, then ``then`` (either may be None: the other alone)."""
    if first is None or then is None:
        return first or then

    def call(stage: str, batch_id: int | None, detail: str) -> None:
        first(stage, batch_id, detail)
        then(stage, batch_id, detail)

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
    accept_loss: bool = False,
) -> StreamHandle:
    """Start the query. ``trigger``: ``processing`` (every ``trigger_seconds``) or ``available_now``.

    ``on_batch`` receives each ``BatchReport``; ``on_stage`` each finished step
    ``(stage, batch_id, detail)`` (``report.STAGES``; also written to
    ``$PROFILEPIPE_STAGE_EVENTS`` when that is set). ``sinks``: where the batches go
    (default ``stores.connect(settings)``). ``source(spark, settings)``: the streaming
    DataFrame read (default ``read_kafka``), in the Kafka rows' shape. ``accept_loss``: as
    ``batch_writer``'s.
    """
    if reset and Path(settings.checkpoint_dir).exists():
        shutil.rmtree(settings.checkpoint_dir)
    events = stage_hook_from_env()
    hook = _chain(on_stage, events)
    writer = batch_writer(settings, on_batch, hasher, on_stage=hook, sinks=sinks, accept_loss=accept_loss)
    spark = get_spark(settings, app_name="profilepipe-stream")  # the session batch_writer started
    query = (
        (source or read_kafka)(spark, settings)
        .writeStream.queryName(QUERY_NAME)
        .foreachBatch(writer)
        .option("checkpointLocation", settings.checkpoint_dir)
        .trigger(**_trigger(settings, trigger))
        .start()
    )
    return StreamHandle(query=query, writer=writer, started=time.monotonic(), events=events)


def _trigger(settings: Settings, trigger: str) -> dict:
    """``DataStreamWriter.trigger``'s keyword for ``trigger`` (``available_now`` or ``processing``)."""
    if trigger == "available_now":
        return {"availableNow": True}
    return {"processingTime": f"{settings.trigger_seconds} seconds"}


def run(
    settings: Settings,
    until_idle: bool = False,
    seconds: float | None = None,
    reset: bool = False,
    progress=None,
    timeout: float = 3600.0,
    verbose: bool = False,
    accept_loss: bool = False,
) -> Counts:
    """Run the query in the foreground, restarting it from its checkpoint when it fails.

    ``until_idle``: process what the topic holds now, then stop (``availableNow``).
    ``seconds``: stream for that long, then stop. Neither: until interrupted (Ctrl-C).
    ``progress``: called with one line per batch (``Counts.describe``; and per step with
    ``verbose``: ``report.stage_line``).

    A failed query is started again at most ``stream_restarts`` times, waiting 5 s, 10 s,
    20 s... (max 60 s); the query is stopped in every case. Offsets gone from Kafka before
    they were read stop it for good (``DataLoss``, policy ``on_data_loss`` stop), unless
    ``accept_loss``: then they are recorded and the stream goes on (``pipeline.gaps``).
    """
    say = progress or (lambda _line: None)

    def show(report: BatchReport) -> None:
        say(report.describe())

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
                accept_loss=accept_loss,
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
            if handle.writer.data_loss is not None:  # a restart would meet the same gap
                raise handle.writer.data_loss
            if error is None or stop_requested.is_set():
                return Counts.total(reports, time.monotonic() - began)
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
                return Counts.total(reports, time.monotonic() - began)


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
