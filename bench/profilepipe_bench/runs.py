"""The benchmark's runs: one streaming query each, over a topic of generated users.

Every run gets its own table, aggregate collection and checkpoint (``isolated``), reads
its topic from the beginning with ``availableNow`` in micro-batches of the throughput mode
(``max_offsets_per_trigger``), and is measured from the start of its first micro-batch to
the end of its last one, inside a ``meter.Meter`` (CPU seconds and peak RSS by process).

* ``ours``: the pipeline itself (``stream.start``), any PII mode;
* ``plain``: a query whose ``foreachBatch`` turns the batch into table rows with a
  given function and writes them with the pipeline's writer, nothing else; with ``peer.peer_rows``
  it is the peer-style pipeline, with ``peer.limit_rows`` on a topic of finished rows (made
  by ``rows_topic``) it is the limit: Kafka -> Cassandra with no transform;
* ``latency``: the pipeline in the latency mode while users are produced at a steady rate;
  latency = Cassandra write time of a row - Kafka timestamp of its message.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from profilepipe import contract, kafka_client, stores
from profilepipe.config import Settings
from profilepipe.errors import QueryFailed
from profilepipe.pipeline import stream
from profilepipe.pipeline.spark import get_spark
from profilepipe.sources import generator, producer
from profilepipe.stores import cassandra_jvm
from profilepipe_bench.limit import direct_benchmark
from profilepipe_bench.meter import Meter
from profilepipe_stack import stack

AS_OF = "2026-06-01"


@dataclass
class Run:
    """What one run measured."""

    name: str
    users: int
    seconds: float
    batches: list[dict] = field(default_factory=list)  # per batch: seconds, records, stages, jobs
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process role
    peak: dict[str, float] = field(default_factory=dict)  # peak RSS MiB by process role
    peak_each: dict[str, float] = field(default_factory=dict)  # peak RSS MiB by process (a node by name)
    latency: dict[str, float] = field(default_factory=dict)  # input, produced, p50, p95, p99, max
    note: str = ""
    wall: float = 0.0  # seconds the measured block lasted (the CPU seconds are over it)

    @property
    def rate(self) -> float:
        return self.users / self.seconds if self.seconds else 0.0

    def median(self, key: str) -> float | None:
        values = [b[key] for b in self.batches if b.get(key) is not None]
        return statistics.median(values) if values else None

    def stage_median(self, stage: str) -> float | None:
        values = [b["stages"].get(stage, 0.0) for b in self.batches if b.get("stages")]
        return statistics.median(values) if values else None


def isolated(settings: Settings, tag: str, topic: str, **changes) -> Settings:
    """Settings with this run's own table, collection and checkpoint, reading ``topic``.

    Every run stores the full profile's row (``contract.FULL``), the one the peer-style
    pipeline writes, so that the rows compared are the same (``changes`` may say otherwise).
    """
    return settings.replace(
        **{
            "kafka_topic": topic,
            "cassandra_table": f"bench_{tag}",
            "mongo_collection": f"bench_{tag}",
            "checkpoint_dir": str(Path(settings.stack_dir) / "bench" / f"ckpt_{tag}_{uuid.uuid4().hex[:6]}"),
            "starting_offsets": "earliest",
            "as_of": AS_OF,
            "store_profile": contract.FULL,
            **changes,
        }
    )


def drop_run(settings: Settings) -> None:
    """Drop the run's table and aggregates (the benchmark leaves nothing behind)."""
    session = stores.connect(settings).cassandra.session()
    for table in (settings.users_table, settings.erasures_table):
        session.execute(f"DROP TABLE IF EXISTS {table}", timeout=120)
    stores.connect(settings).mongo.clear_aggregates()


def users_topic(settings: Settings, name: str, users: int, rate: float | None = None):
    """A fresh topic ``name`` holding ``users`` generated adults; the producer's summary."""
    s = settings.replace(kafka_topic=name)
    kafka_client.delete_topics(s, [s.kafka_topic, s.dlq_topic])
    stack.ensure_topics(s)
    data = generator.generate_users(users, seed=f"bench-{users}", minor_share=0.0, as_of=AS_OF)
    return producer.produce(data, s, rate=rate, progress=False)


def ours(settings: Settings, name: str, hasher=None, users: int | None = None) -> Run:
    """The pipeline over the whole topic (``stream.start`` with ``availableNow``)."""
    stack.ensure_schema(settings)
    with Meter(settings) as meter:
        handle = stream.start(settings, trigger="available_now", hasher=hasher)
        try:
            handle.query.awaitTermination(7200)
            if handle.query.exception():
                raise QueryFailed(str(handle.query.exception()))
        finally:
            handle.stop()
    reports = [r for r in handle.writer.reports if r.read]
    drop_run(settings)
    seconds = max(r.finished_at for r in reports) - min(r.started_at for r in reports)
    return Run(
        name,
        stream.Counts.total(reports, seconds).read,
        seconds,
        [_batch(r) for r in reports],
        meter.cpu_seconds(),
        meter.peak,
        peak_each=meter.peak_each,
        wall=meter.wall,
    )


def _batch(report: stream.BatchReport) -> dict:
    """What a run keeps of a ``BatchReport``."""
    return {
        "seconds": report.seconds,
        "records": report.read,
        "stages": report.stages,
        "jobs": report.jobs,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
    }


class TimedBatches:
    """A ``foreachBatch`` function: ``to_rows(batch_df)`` written by the pipeline's writer, timed."""

    def __init__(self, settings: Settings, to_rows):
        self.settings, self.to_rows = settings, to_rows
        self.batches: list[dict] = []

    def __call__(self, batch_df, batch_id: int) -> None:
        started_at, started = time.time(), time.monotonic()
        written = cassandra_jvm.write_cassandra_jvm(self.to_rows(batch_df), self.settings)
        if written:
            seconds = time.monotonic() - started
            self.batches.append(
                {
                    "seconds": seconds,
                    "records": written,
                    "stages": {"cassandra": seconds},
                    "started_at": started_at,
                    "finished_at": time.time(),
                }
            )


def plain(settings: Settings, name: str, to_rows) -> Run:
    """Kafka -> ``to_rows`` -> Cassandra (the pipeline's writer), nothing else, over the whole topic."""
    stack.ensure_schema(settings)
    sink = TimedBatches(settings, to_rows)
    spark = get_spark(settings)
    with Meter(settings) as meter:
        query = (
            stream.read_kafka(spark, settings)
            .writeStream.foreachBatch(sink)
            .option("checkpointLocation", settings.checkpoint_dir)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination(7200)
        if query.exception():
            raise QueryFailed(str(query.exception()))
    drop_run(settings)
    b = sink.batches
    seconds = max(x["finished_at"] for x in b) - min(x["started_at"] for x in b)
    return Run(
        name, sum(x["records"] for x in b), seconds, b, meter.cpu_seconds(), meter.peak, wall=meter.wall
    )


def rows_topic(settings: Settings, source_topic: str, name: str) -> tuple[int, object]:
    """A topic ``name`` of the pipeline's finished rows (JSON) for the users of ``source_topic``.

    Made in batch mode, not timed: the users read from Kafka, run through the stream's
    transform (``settings``' PII mode), the stored rows as JSON, one message each, keyed by
    user id. Returns (rows, the rows cached in Spark, for ``cassandra_alone``).
    """
    from pyspark.sql import functions as F

    from profilepipe.pipeline import transform

    s = settings.replace(kafka_topic=name)
    kafka_client.delete_topics(s, [name])
    stack.ensure_topics(s)
    spark = get_spark(settings)
    raw = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", source_topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    rows = transform.stored_rows(transform.assemble(raw, settings)).persist()
    n = rows.count()
    (
        rows.select(
            F.col("user_id").alias("key"),
            F.to_json(F.struct(*[F.col(c) for c in rows.columns])).alias("value"),
        )
        .write.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("topic", name)
        .save()
    )
    return n, rows


def cassandra_alone(settings: Settings, rows, name: str) -> Run:
    """The store alone: the rows in the driver's JVM, inserted by the Java driver, only the inserts timed."""
    stack.ensure_schema(settings)
    with Meter(settings) as meter:
        written, seconds = direct_benchmark(rows, settings)
    drop_run(settings)
    note = "rows already in memory"
    return Run(name, written, seconds, [], meter.cpu_seconds(), meter.peak, note=note, wall=meter.wall)


def _steady_input(settings: Settings, rate: float, seconds: float) -> list[dict]:
    """A fresh, empty topic and the ``rate * seconds`` adults a latency run produces into it."""
    kafka_client.delete_topics(settings, [settings.kafka_topic, settings.dlq_topic])
    stack.ensure_topics(settings)
    return generator.generate_users(int(rate * seconds), seed="latency", minor_share=0.0, as_of=AS_OF)


def latency(settings: Settings, name: str, rate: float, seconds: float) -> Run:
    """The pipeline (processing-time trigger) while ``rate`` users/s are produced for ``seconds``.

    The query starts first and runs its first empty batches (Spark warm); then the users
    are produced at the steady rate, and the query runs until its batches have written every
    row (at most 10 minutes). Latency of a row: its Cassandra write time minus the Kafka
    timestamp of its message (``ingested_at``), both on this machine's clock.
    """
    stack.ensure_schema(settings)
    users = _steady_input(settings, rate, seconds)
    with Meter(settings) as meter:
        handle = stream.start(settings, trigger="processing")
        try:
            time.sleep(8)  # the first (empty) batches: Spark warm before the clock starts
            summary = producer.produce(users, settings, rate=rate, progress=False)  # the query runs meanwhile
            deadline = time.time() + 600
            # the stream's own count of rows written, not count(*): a scan of the whole table
            # each second loads Cassandra during the run it measures (and timed out at 5,000/s)
            while sum(r.stored for r in handle.writer.reports) < len(users) and time.time() < deadline:
                time.sleep(0.5)
        finally:
            handle.stop()
    rows = (
        stores.connect(settings)
        .cassandra.session()
        .execute(
            f"SELECT ingested_at, writetime(age) AS w FROM {settings.users_table}",
            timeout=300,
        )
    )
    lat = sorted(r.w / 1e6 - contract.from_store(r.ingested_at).timestamp() for r in rows)
    drop_run(settings)
    reports = [r for r in handle.writer.reports if r.read]
    return Run(
        name,
        len(lat),
        summary.seconds,
        [_batch(r) for r in reports],
        meter.cpu_seconds(),
        meter.peak,
        latency={**percentiles(lat), "input": rate, "produced": summary.users_per_s},
        peak_each=meter.peak_each,
        wall=meter.wall,
    )


class FloorBatches:
    """A ``foreachBatch`` function that collects the batch's Kafka timestamps and nothing else."""

    def __init__(self):
        self.batches: list[dict] = []
        self.latency: list[float] = []

    def __call__(self, batch_df, batch_id: int) -> None:
        started_at, started = time.time(), time.monotonic()
        stamps = [contract.from_spark(r[0]) for r in batch_df.select("timestamp").collect()]
        if stamps:
            end = time.time()
            self.latency.extend(end - t.timestamp() for t in stamps)
            self.batches.append(
                {"seconds": time.monotonic() - started, "records": len(stamps), "stages": {}}
                | {"started_at": started_at, "finished_at": end}
            )


def floor(settings: Settings, name: str, rate: float, seconds: float) -> Run:
    """Spark's own floor: Kafka -> ``foreachBatch`` collecting the Kafka timestamps, same trigger.

    Produced and timed as ``latency``; a record's latency is the end of its batch minus its
    Kafka timestamp.
    """
    users = _steady_input(settings, rate, seconds)
    sink, spark = FloorBatches(), get_spark(settings)
    with Meter(settings) as meter:
        query = (
            stream.read_kafka(spark, settings)
            .writeStream.foreachBatch(sink)
            .option("checkpointLocation", settings.checkpoint_dir)
            .trigger(processingTime=f"{settings.trigger_seconds} seconds")
            .start()
        )
        try:
            time.sleep(8)  # as ``latency``: the first (empty) batches before the clock starts
            summary = producer.produce(users, settings, rate=rate, progress=False)
            deadline = time.time() + 600
            while len(sink.latency) < len(users) and time.time() < deadline:
                time.sleep(0.5)
        finally:
            query.stop()
    lat = sorted(sink.latency)
    return Run(
        name,
        len(lat),
        summary.seconds,
        sink.batches,
        meter.cpu_seconds(),
        meter.peak,
        latency={**percentiles(lat), "input": rate, "produced": summary.users_per_s},
        peak_each=meter.peak_each,
        wall=meter.wall,
    )


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of sorted ``values`` (nearest rank)."""
    if not values:
        return {}

    def pct(p: float) -> float:
        return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values))) - 1))]

    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": values[-1]}
