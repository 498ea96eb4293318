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
  They are sent from the driver, exactly once per batch even when the batch is replayed
  (``write_dead_letters``).

Every write retries while its store is unreachable (``retry.call``), for at most
``sink_retry_seconds``; after that the batch fails and ``stream.run`` restarts the query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from profilepipe import retry
from profilepipe.config import Settings
from profilepipe.pipeline import transform

# ------------------------------------------------------------------ Cassandra
# the table's columns and the dead-letter fields are the transform's contract
USER_COLUMNS = transform.USER_COLUMNS

_CASSANDRA: dict[tuple, Any] = {}  # one Cluster/Session per process (driver or Python worker)
_PREPARED: dict[tuple, Any] = {}  # prepared INSERT per (session, statement), reused across batches


def cassandra_session(settings: Settings):
    """A cached cassandra-driver session for this process (options: ``connections``)."""
    from profilepipe import connections

    key = connections.cassandra_key(settings)  # the password only as a digest
    session = _CASSANDRA.get(key)
    if session is None or session.is_shutdown:
        from cassandra.cluster import Cluster

        cluster = Cluster(**connections.cassandra_options(settings))
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

    cql = _insert_cql(settings)
    written = 0
    pending: list[tuple] = []

    def requests(chunk: list[tuple], prepared):
        for i in range(0, len(chunk), rows_per_request):
            part = chunk[i : i + rows_per_request]
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for values in part:
                batch.add(prepared, values)
            yield batch, len(part)

    def attempt(chunk: list[tuple]) -> int:
        session = cassandra_session(settings)
        prepared = _PREPARED.get((session, cql))
        if prepared is None:
            prepared = _PREPARED[(session, cql)] = session.prepare(cql)
        reqs = list(requests(chunk, prepared))
        results = execute_concurrent(
            session, [(b, ()) for b, _ in reqs], concurrency=concurrency, raise_on_first_error=True
        )
        return sum(n for (ok, _), (_, n) in zip(results, reqs, strict=True) if ok)

    def flush(chunk: list[tuple]) -> int:  # upserts: a retried chunk rewrites the same rows
        what = f"cassandra: write {len(chunk)} rows"
        return retry.call(lambda: attempt(chunk), what, settings.sink_retry_seconds)

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


def erasure_key(user_id: str) -> str:
    """The erasure register's key of a user: SHA-256 of the lower-case user id (hex)."""
    return hashlib.sha256(str(user_id).strip().lower().encode("utf-8")).hexdigest()


def _erasures_table(settings: Settings) -> str:
    return f"{settings.cassandra_keyspace}.{settings.cassandra_table}_erasures"


def forget_user(settings: Settings, user_id: str) -> bool:
    """GDPR right to erasure: record the erasure, then delete the user's row.

    Returns whether a row was there. The erasure is recorded first, so a batch being
    written at that moment either sees it (and drops the user) or deletes the row
    again when it finishes (``delete_erased``); a later replay of old Kafka offsets
    drops the user too. The aggregates hold counts only (groups below k are marked),
    no per-user data, so they are left as they are.
    """
    try:
        uid = uuid.UUID(str(user_id).strip())
    except ValueError:
        raise ValueError(f"{user_id!r} is not a user id (login.uuid, a UUID)") from None
    session = cassandra_session(settings)
    session.execute(
        f"INSERT INTO {_erasures_table(settings)} (user_key, erased_at) VALUES (%s, %s)",
        (erasure_key(str(uid)), dt.datetime.now(dt.UTC)),
    )
    existed = get_user(settings, str(uid)) is not None
    delete_erased(settings, [str(uid)])
    return existed


def erased_keys(settings: Settings) -> set[str]:
    """Every key of the erasure register (see ``erasure_key``)."""
    cql = f"SELECT user_key FROM {_erasures_table(settings)}"
    return retry.call(
        lambda: {r.user_key for r in cassandra_session(settings).execute(cql)},
        "cassandra: read the erasure register",
        settings.sink_retry_seconds,
    )


def delete_erased(settings: Settings, user_ids: list[str]) -> None:
    """Delete these users' rows (users forgotten while their batch was being written)."""
    cql = f"DELETE FROM {settings.cassandra_keyspace}.{settings.cassandra_table} WHERE user_id = %s"
    for user_id in user_ids:
        retry.call(
            lambda u=user_id: cassandra_session(settings).execute(cql, (uuid.UUID(u),)),
            "cassandra: delete a forgotten user",
            settings.sink_retry_seconds,
        )


def truncate_users(settings: Settings) -> None:
    session = cassandra_session(settings)
    session.execute(f"TRUNCATE {settings.cassandra_keyspace}.{settings.cassandra_table}", timeout=120)


def truncate_erasures(settings: Settings) -> None:
    """Empty the erasure register (a reset starts over: no user is forgotten any more)."""
    cassandra_session(settings).execute(f"TRUNCATE {_erasures_table(settings)}", timeout=120)


# ------------------------------------------------------------------ MongoDB
_MONGO: dict[str, Any] = {}


def mongo_db(settings: Settings):
    """The configured MongoDB database (a cached pymongo client; options: ``connections``)."""
    from profilepipe import connections

    key = connections.mongo_key(settings)  # URI and password only as a digest
    client = _MONGO.get(key)
    if client is None:
        from pymongo import MongoClient

        client = MongoClient(settings.mongo_uri, **connections.mongo_options(settings))
        _MONGO[key] = client
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
    ``aggregates.compute``). ``key``: the batch key (see ``batch_key``). Retried while
    the server is unreachable (``retry.call``): every step is idempotent.
    """
    if not rows:
        return 0
    what = f"mongodb: merge {len(rows)} aggregate rows"
    return retry.call(lambda: _merge_once(settings, rows, key), what, settings.sink_retry_seconds)


def _merge_once(settings: Settings, rows: list[dict], key: str) -> int:
    from pymongo import ReplaceOne, UpdateOne

    merged, parts, _ = collections(settings)
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
    retry.call(
        lambda: batches.update_one({"_id": key}, {"$set": doc}, upsert=True),
        "mongodb: record batch",
        settings.sink_retry_seconds,
    )


def read_aggregates(settings: Settings, dimension: str | None = None) -> list[dict]:
    merged, _, _ = collections(settings)
    query = {"dimension": dimension} if dimension else {}
    return list(merged.find(query, {"_id": 0}).sort([("dimension", 1), ("count", -1), ("key", 1)]))


def read_batches(settings: Settings) -> list[dict]:
    """The finished batches' logs (a batch being written has only its dead-letter mark)."""
    _, _, batches = collections(settings)
    return list(batches.find({"read": {"$exists": True}}, {"_id": 0}).sort("finished_at", 1))


def clear_aggregates(settings: Settings) -> None:
    for coll in collections(settings):
        coll.drop()


# ------------------------------------------------------------------ dead letters
DLQ_FIELDS = transform.DLQ_FIELDS


def dead_letter_messages(dlq_df) -> list[tuple[bytes | None, str]]:
    """``(key, JSON value)`` of each dead letter of ``transform.dead_letters(...)``, collected.

    The JSON is built by Spark (``to_json``), so timestamps are written in the session's
    time zone (UTC) whatever the Python process's zone is. A micro-batch holds at most
    ``max_offsets_per_trigger`` messages, so its dead letters fit in the driver.
    """
    from pyspark.sql import functions as F

    out = dlq_df.select(
        F.col("key").cast("binary").alias("key"),
        F.to_json(F.struct(*[F.col(c) for c in DLQ_FIELDS])).alias("value"),
    )
    return [(_key_bytes(r["key"]), r["value"]) for r in out.collect()]


def _letter_identity(letter: dict) -> tuple:
    """What makes two dead letters the same: source coordinates, reason and detail."""
    fields = ("source_topic", "source_partition", "source_offset", "reason", "detail")
    return tuple(str(letter.get(f)) for f in fields)


def dlq_end_offsets(settings: Settings) -> dict[int, int]:
    from profilepipe.sources import producer

    return producer.end_offsets(settings, settings.dlq_topic)


def _letters_since(settings: Settings, start: dict[int, int]) -> list[dict]:
    """Dead letters written at or after ``start`` ({partition: offset}), up to the current end."""
    from kafka import KafkaConsumer, TopicPartition

    end = dlq_end_offsets(settings)
    wanted = {p: (int(start.get(str(p), start.get(p, 0))), e) for p, e in end.items()}
    wanted = {p: (lo, hi) for p, (lo, hi) in wanted.items() if hi > lo}
    if not wanted:
        return []
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    out = []
    try:
        tps = {TopicPartition(settings.dlq_topic, p): rng for p, rng in wanted.items()}
        consumer.assign(list(tps))
        for tp, (lo, _) in tps.items():
            consumer.seek(tp, lo)
        remaining = dict(tps)
        deadline = time.monotonic() + 60
        while remaining and time.monotonic() < deadline:
            for tp, msgs in consumer.poll(timeout_ms=1000).items():
                for m in msgs:
                    if m.offset < remaining.get(tp, (0, -1))[1]:
                        out.append(json.loads(m.value.decode("utf-8")))
                if consumer.position(tp) >= tps[tp][1]:
                    remaining.pop(tp, None)
        if remaining:
            raise TimeoutError(f"could not read back {settings.dlq_topic} up to {end}")
    finally:
        consumer.close()
    return out


def write_dead_letters(letters: list[tuple[bytes | None, str]], settings: Settings, key: str) -> int:
    """Send one batch's dead letters to the DLQ topic exactly once; returns how many were sent now.

    ``letters``: ``(key, JSON value)`` pairs (``dead_letter_messages``); ``key``: the
    batch key. Before the first send, the DLQ topic's end offsets are recorded in the
    batch log. When the same batch runs again (the stream was killed after sending some
    letters, before Spark committed the batch), the letters written since those offsets
    are read back and only the missing ones are sent, so each dead letter appears once.
    Sends are retried while Kafka is unreachable.
    """
    from collections import Counter

    from profilepipe.sources import producer

    if not letters:
        return 0
    _, _, batches = collections(settings)
    budget = settings.sink_retry_seconds
    mark = retry.call(
        lambda: batches.find_one({"_id": key}, {"dlq_from": 1}), "mongodb: read batch log", budget
    )
    if mark and mark.get("dlq_from") is not None:  # a replay: skip what the earlier attempt wrote
        present = Counter(_letter_identity(x) for x in _read_back(settings, mark["dlq_from"], budget))
        todo = []
        for letter in letters:
            ident = _letter_identity(json.loads(letter[1]))
            if present[ident] > 0:
                present[ident] -= 1
            else:
                todo.append(letter)
    else:
        start = retry.call(lambda: dlq_end_offsets(settings), "kafka: dead-letter end offsets", budget)
        retry.call(
            lambda: batches.update_one(
                {"_id": key}, {"$set": {"dlq_from": {str(p): o for p, o in start.items()}}}, upsert=True
            ),
            "mongodb: record dead-letter start",
            budget,
        )
        todo = list(letters)
    state = {"pending": [(k, v.encode("utf-8")) for k, v in todo], "sent": 0}

    def attempt() -> None:  # resends only what failed, so nothing is written twice
        if not state["pending"]:
            return
        summary = producer.produce_raw(state["pending"], settings, topic=settings.dlq_topic)
        state["sent"] += summary.sent
        state["pending"] = summary.undelivered
        if summary.failed:
            raise producer.UndeliveredError(summary)

    retry.call(attempt, f"kafka: send {len(todo)} dead letters", budget)
    return state["sent"]


def _read_back(settings: Settings, start: dict, budget: float) -> list[dict]:
    return retry.call(lambda: _letters_since(settings, start), "kafka: read back dead letters", budget)


def _key_bytes(key) -> bytes | None:
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, bytearray):
        return bytes(key)
    return str(key).encode("utf-8")


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
    """Empty everything the pipeline wrote: topics, table, erasure register, aggregates, checkpoint.

    Afterwards a run starts from nothing, so the same run gives the same numbers again
    (the erasure register included: a user forgotten by an earlier run is stored again).
    """
    from profilepipe.localstack import stack

    delete_topics(settings, [settings.kafka_topic, settings.dlq_topic])
    stack.ensure_topics(settings)
    echo(f"kafka: topics {settings.kafka_topic}, {settings.dlq_topic} recreated empty")
    stack.ensure_schema(settings)
    truncate_users(settings)
    truncate_erasures(settings)
    echo(
        f"cassandra: {settings.cassandra_keyspace}.{settings.cassandra_table} and its erasure register "
        "truncated"
    )
    clear_aggregates(settings)
    echo(f"mongo: {settings.mongo_database}.{settings.mongo_collection}* dropped")
    ckpt = Path(settings.checkpoint_dir)
    if ckpt.exists():
        shutil.rmtree(ckpt)
    echo(f"checkpoint: {ckpt} removed")
