"""Where the stream's results go: Cassandra rows, MongoDB aggregates, the dead-letter topic.

All three are written from the same micro-batch (see ``stream.BatchWriter``):

* **Cassandra** through cassandra-driver, from the executors (one connection per Python
  worker, a prepared INSERT, concurrent execution). An INSERT is an upsert by ``user_id``,
  so a replayed batch writes the same values again and changes nothing.
* **MongoDB** through pymongo. Each batch's aggregates are first stored as *parts* whose
  ``_id`` names the dimension, the key and the batch's Kafka offset ranges; replaying the
  batch rewrites the same parts. The merged documents (one per dimension and key) are then
  recomputed from all parts of the keys the batch touched, so a replay never double counts.
* **Dead letters** go to ``<topic>.dlq`` with the reason and the source coordinates
  (topic, partition, offset) instead of the message itself, so no personal data is copied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import transform
from .config import Settings

# ------------------------------------------------------------------ Cassandra
# the table's columns and the dead-letter fields are the transform's contract
USER_COLUMNS = transform.USER_COLUMNS

_CASSANDRA: dict[tuple, Any] = {}  # one Cluster/Session per process (driver or Python worker)
_PREPARED: dict[tuple, Any] = {}  # prepared INSERT per (session, statement), reused across batches


def cassandra_session(settings: Settings):
    """A cached cassandra-driver session for this process."""
    key = (settings.cassandra_host, settings.cassandra_port, settings.cassandra_username)
    session = _CASSANDRA.get(key)
    if session is None or session.is_shutdown:
        from cassandra.cluster import Cluster

        auth = None
        if settings.cassandra_username:
            from cassandra.auth import PlainTextAuthProvider

            auth = PlainTextAuthProvider(settings.cassandra_username, settings.cassandra_password)
        cluster = Cluster(
            [settings.cassandra_host],
            port=settings.cassandra_port,
            auth_provider=auth,
            protocol_version=5,
            connect_timeout=10,
        )
        session = cluster.connect()
        session.default_timeout = 30
        _CASSANDRA[key] = session
    return session


def _insert_cql(settings: Settings) -> str:
    cols = ", ".join(USER_COLUMNS)
    marks = ", ".join("?" for _ in USER_COLUMNS)
    return f"INSERT INTO {settings.cassandra_keyspace}.{settings.cassandra_table} ({cols}) VALUES ({marks})"


def _utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _row_values(row) -> tuple:
    d = row.asDict() if hasattr(row, "asDict") else dict(row)
    values = []
    for col in USER_COLUMNS:
        v = d.get(col)
        if col == "user_id":
            v = uuid.UUID(v)
        elif col in ("registered_at", "ingested_at"):
            v = _utc(v)
        values.append(v)
    return tuple(values)


def write_rows_partition(
    settings: Settings, rows: Iterable, rows_per_request: int = 16, concurrency: int = 32
) -> int:
    """Upsert one partition's rows; runs on an executor. Returns the number written.

    Rows go in small UNLOGGED batches of ``rows_per_request`` prepared INSERTs, many
    requests in flight: the Python driver's cost is per request, so this writes several
    times faster than one request per row. Each row is its own partition, so a batch
    only saves round trips (no atomicity is implied or needed: every INSERT is an upsert).
    """
    from cassandra.concurrent import execute_concurrent
    from cassandra.query import BatchStatement, BatchType

    session = cassandra_session(settings)
    cql = _insert_cql(settings)
    prepared = _PREPARED.get((session, cql))
    if prepared is None:
        prepared = _PREPARED[(session, cql)] = session.prepare(cql)
    written = 0
    pending: list[tuple] = []

    def requests(chunk: list[tuple]):
        for i in range(0, len(chunk), rows_per_request):
            part = chunk[i : i + rows_per_request]
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for values in part:
                batch.add(prepared, values)
            yield batch, len(part)

    def flush(chunk: list[tuple]) -> int:
        reqs = list(requests(chunk))
        results = execute_concurrent(
            session, [(b, ()) for b, _ in reqs], concurrency=concurrency, raise_on_first_error=True
        )
        return sum(n for (ok, _), (_, n) in zip(results, reqs, strict=True) if ok)

    for row in rows:
        pending.append(_row_values(row))
        if len(pending) >= 4000:
            written += flush(pending)
            pending = []
    if pending:
        written += flush(pending)
    return written


def write_cassandra(stored_df, settings: Settings) -> int:
    """Write a DataFrame of stored rows from the executors; returns rows written."""
    cols = stored_df.select(*USER_COLUMNS)

    def per_partition(rows: Iterator) -> Iterator[int]:
        yield write_rows_partition(settings, rows)

    return int(cols.rdd.mapPartitions(per_partition).sum())


def read_users(settings: Settings, limit: int = 10) -> list[dict]:
    session = cassandra_session(settings)
    cql = f"SELECT * FROM {settings.cassandra_keyspace}.{settings.cassandra_table} LIMIT {int(limit)}"
    return [dict(r._asdict()) for r in session.execute(cql)]


def count_users(settings: Settings) -> int:
    session = cassandra_session(settings)
    cql = f"SELECT count(*) FROM {settings.cassandra_keyspace}.{settings.cassandra_table}"
    return int(session.execute(cql, timeout=120).one()[0])


def get_user(settings: Settings, user_id: str) -> dict | None:
    session = cassandra_session(settings)
    cql = f"SELECT * FROM {settings.cassandra_keyspace}.{settings.cassandra_table} WHERE user_id = %s"
    row = session.execute(cql, (uuid.UUID(str(user_id)),)).one()
    return dict(row._asdict()) if row else None


def erase_user(settings: Settings, user_id: str) -> bool:
    """GDPR erasure of one user's row; returns whether a row was there.

    The aggregates hold counts only (groups below k are marked), no per-user data.
    """
    existed = get_user(settings, user_id) is not None
    session = cassandra_session(settings)
    cql = f"DELETE FROM {settings.cassandra_keyspace}.{settings.cassandra_table} WHERE user_id = %s"
    session.execute(cql, (uuid.UUID(str(user_id)),))
    return existed


def truncate_users(settings: Settings) -> None:
    session = cassandra_session(settings)
    session.execute(f"TRUNCATE {settings.cassandra_keyspace}.{settings.cassandra_table}", timeout=120)


# ------------------------------------------------------------------ MongoDB
_MONGO: dict[str, Any] = {}


def mongo_db(settings: Settings):
    """The configured MongoDB database (a cached pymongo client)."""
    client = _MONGO.get(settings.mongo_uri)
    if client is None:
        from pymongo import MongoClient

        client = MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=10000, tz_aware=True)
        _MONGO[settings.mongo_uri] = client
    return client[settings.mongo_database]


def collections(settings: Settings):
    """(merged aggregates, per-batch parts, batch log) collections."""
    db = mongo_db(settings)
    name = settings.mongo_collection
    return db[name], db[f"{name}_parts"], db[f"{name}_batches"]


def batch_key(offset_ranges: dict[tuple[str, int], tuple[int, int]]) -> str:
    """A stable name for a batch: a digest of the Kafka offsets it covered."""
    text = ";".join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(offset_ranges.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def merge_aggregates(settings: Settings, rows: list[dict], key: str) -> int:
    """Idempotently merge one batch's aggregate rows into MongoDB; returns keys touched.

    ``rows``: dicts with ``dimension``, ``key``, ``count``, ``age_sum`` (from
    ``aggregates.compute``). ``key``: the batch key (see ``batch_key``).
    """
    from pymongo import ReplaceOne, UpdateOne

    merged, parts, _ = collections(settings)
    if not rows:
        return 0
    part_ops = []
    touched = []
    for r in rows:
        dk = f"{r['dimension']}|{r['key']}"
        touched.append(dk)
        part_ops.append(
            ReplaceOne(
                {"_id": f"{dk}|{key}"},
                {
                    "_id": f"{dk}|{key}",
                    "dk": dk,
                    "dimension": r["dimension"],
                    "key": str(r["key"]),
                    "batch": key,
                    "count": int(r["count"]),
                    "age_sum": int(r["age_sum"]),
                },
                upsert=True,
            )
        )
    parts.bulk_write(part_ops, ordered=False)
    totals = parts.aggregate(
        [
            {"$match": {"dk": {"$in": touched}}},
            {"$group": {"_id": "$dk", "count": {"$sum": "$count"}, "age_sum": {"$sum": "$age_sum"}}},
        ]
    )
    now = dt.datetime.now(dt.UTC)
    ops = []
    for t in totals:
        dimension, k = t["_id"].split("|", 1)
        count, age_sum = int(t["count"]), int(t["age_sum"])
        ops.append(
            UpdateOne(
                {"_id": t["_id"]},
                {
                    "$set": {
                        "dimension": dimension,
                        "key": k,
                        "count": count,
                        "age_sum": age_sum,
                        "avg_age": round(age_sum / count, 3) if count else None,
                        "suppressed": count < settings.k_anonymity,
                        "updated_at": now,
                    }
                },
                upsert=True,
            )
        )
    if ops:
        merged.bulk_write(ops, ordered=False)
    return len(ops)


def record_batch(settings: Settings, key: str, doc: dict) -> None:
    """Log a batch's counts (read, stored, filtered_minor, dead_letter) under its key."""
    _, _, batches = collections(settings)
    batches.replace_one({"_id": key}, {"_id": key, **doc}, upsert=True)


def read_aggregates(settings: Settings, dimension: str | None = None) -> list[dict]:
    merged, _, _ = collections(settings)
    query = {"dimension": dimension} if dimension else {}
    return list(merged.find(query, {"_id": 0}).sort([("dimension", 1), ("count", -1), ("key", 1)]))


def read_batches(settings: Settings) -> list[dict]:
    _, _, batches = collections(settings)
    return list(batches.find({}, {"_id": 0}).sort("finished_at", 1))


def clear_aggregates(settings: Settings) -> None:
    for coll in collections(settings):
        coll.drop()


# ------------------------------------------------------------------ dead letters
DLQ_FIELDS = transform.DLQ_FIELDS


def write_dead_letters(dlq_df, settings: Settings) -> None:
    """Send dead letters to the DLQ topic with Spark's Kafka sink (from the executors)."""
    from pyspark.sql import functions as F

    out = dlq_df.select(
        F.col("key").cast("binary").alias("key"),
        F.to_json(F.struct(*[F.col(c) for c in DLQ_FIELDS])).alias("value"),
    )
    (
        out.write.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("topic", settings.dlq_topic)
        .save()
    )


def consume_all(settings: Settings, topic: str, timeout_s: float = 10.0) -> Iterator:
    """Every message of ``topic`` from the beginning, until none arrives for ``timeout_s``."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout_s * 1000),
        group_id=None,
    )
    try:
        yield from consumer
    finally:
        consumer.close()


def read_dead_letters(settings: Settings, limit: int = 100_000, timeout_s: float = 10.0) -> list[dict]:
    """All dead letters currently in the DLQ topic (reads from the beginning)."""
    out = []
    for msg in consume_all(settings, settings.dlq_topic, timeout_s):
        out.append(json.loads(msg.value.decode("utf-8")))
        if len(out) >= limit:
            break
    return out


# ------------------------------------------------------------------ reset
def delete_topics(settings: Settings, topics: list[str], timeout_s: float = 30.0) -> None:
    """Delete topics (those that exist) and wait until the broker no longer lists them."""
    import time

    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="profilepipe-reset")
    try:
        present = [t for t in topics if t in set(admin.list_topics())]
        if present:
            admin.delete_topics(present)
        deadline = time.monotonic() + timeout_s
        while set(present) & set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {present} still listed after {timeout_s:.0f}s")
            time.sleep(0.5)
    finally:
        admin.close()


def reset_all(settings: Settings, echo=print) -> None:
    """Empty everything the pipeline wrote: topics, table, aggregates, checkpoint."""
    from . import stack

    delete_topics(settings, [settings.kafka_topic, settings.dlq_topic])
    stack.ensure_topics(settings)
    echo(f"kafka: topics {settings.kafka_topic}, {settings.dlq_topic} recreated empty")
    stack.ensure_schema(settings)
    truncate_users(settings)
    echo(f"cassandra: {settings.cassandra_keyspace}.{settings.cassandra_table} truncated")
    clear_aggregates(settings)
    echo(f"mongo: {settings.mongo_database}.{settings.mongo_collection}* dropped")
    ckpt = Path(settings.checkpoint_dir)
    if ckpt.exists():
        shutil.rmtree(ckpt)
    echo(f"checkpoint: {ckpt} removed")
