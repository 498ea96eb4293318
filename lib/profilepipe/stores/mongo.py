"""MongoDB: the merged aggregates and the batch log.

Through pymongo. Each batch's aggregates are first stored as *parts* whose ``_id`` names
the dimension, the key and the batch (``contract.batch_key`` of its Kafka offset ranges);
replaying the batch rewrites the same parts. The merged documents (one per dimension and
key: ``count``, ``age_sum``, ``avg_age``, ``suppressed`` when ``count < k_anonymity``) are
then recomputed from all parts of the keys the batch touched, so a replay never double
counts.

The batch log (``<collection>_batches``) holds one document per batch key: its counts
(``record_batch``, written last, when the batch is complete) and, while the batch is being
written, the dead-letter topic's offsets before its first letter (``dlq_mark``, used by
``stores.kafka.write_dead_letters`` to send each letter exactly once).

Every write retries while the server is unreachable (``retry.call``), for at most
``sink_retry_seconds``. Bulk writes go in commands of at most ``BULK_CHUNK`` operations:
FerretDB v1 (SQLite) never answers an ``update`` command of 100 or more statements that
match existing documents (each holds one of its 100 connections until the command ends);
MongoDB itself splits at 100,000, so smaller commands change nothing there. The merged
totals are summed in Python from the parts (``_totals``), for the same reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from profilepipe import retry
from profilepipe.config import Settings

BULK_CHUNK = 64  # operations per bulk-write command (see the module docstring)

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


# ------------------------------------------------------------------ aggregates
def merge_aggregates(settings: Settings, rows: list[dict], key: str) -> int:
    """Idempotently merge one batch's aggregate rows into MongoDB; returns keys touched.

    ``rows``: dicts with ``dimension``, ``key``, ``count``, ``age_sum`` (from
    ``aggregates.compute``). ``key``: the batch key (``contract.batch_key``). Retried while
    the server is unreachable (``retry.call``): every step is idempotent.
    """
    if not rows:
        return 0
    what = f"mongodb: merge {len(rows)} aggregate rows"
    return retry.call(lambda: _merge_once(settings, rows, key), what, settings.sink_retry_seconds)


def _part(row: dict, key: str) -> dict:
    """The part document of one aggregate row of batch ``key``."""
    dk = f"{row['dimension']}|{row['key']}"
    return {
        "_id": f"{dk}|{key}",
        "dk": dk,
        "dimension": row["dimension"],
        "key": str(row["key"]),
        "batch": key,
        "count": int(row["count"]),
        "age_sum": int(row["age_sum"]),
    }


def _merged(total: dict, k_anonymity: int, now: dt.datetime) -> dict:
    """The merged document's fields from the total of its parts (``_totals``)."""
    dimension, k = total["_id"].split("|", 1)
    count, age_sum = int(total["count"]), int(total["age_sum"])
    return {
        "dimension": dimension,
        "key": k,
        "count": count,
        "age_sum": age_sum,
        "avg_age": round(age_sum / count, 3) if count else None,
        "suppressed": count < k_anonymity,
        "updated_at": now,
    }


def _merge_once(settings: Settings, rows: list[dict], key: str) -> int:
    from pymongo import ReplaceOne, UpdateOne

    merged, parts, _ = collections(settings)
    docs = [_part(r, key) for r in rows]
    _bulk_write(parts, [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs])
    totals = _totals(parts, sorted({d["dk"] for d in docs}))
    now = dt.datetime.now(dt.UTC)
    ops = [
        UpdateOne({"_id": t["_id"]}, {"$set": _merged(t, settings.k_anonymity, now)}, upsert=True)
        for t in totals.values()
    ]
    _bulk_write(merged, ops)
    return len(ops)


def _totals(parts, dks: list[str]) -> dict[str, dict]:
    """``count`` and ``age_sum`` summed over every part of each ``dk``, by ``dk``.

    Summed here rather than by a ``$group`` with two ``$sum`` accumulators: FerretDB v1
    computes only the first accumulator of a ``$group`` and returns 0 for the others.
    """
    totals: dict[str, dict] = {}
    for part in parts.find({"dk": {"$in": dks}}, {"_id": 0, "dk": 1, "count": 1, "age_sum": 1}):
        t = totals.setdefault(part["dk"], {"_id": part["dk"], "count": 0, "age_sum": 0})
        t["count"] += int(part["count"])
        t["age_sum"] += int(part["age_sum"])
    return totals


def _bulk_write(collection, ops: list) -> None:
    """Unordered bulk writes of at most ``BULK_CHUNK`` operations each (idempotent upserts)."""
    for i in range(0, len(ops), BULK_CHUNK):
        collection.bulk_write(ops[i : i + BULK_CHUNK], ordered=False)


def read_aggregates(settings: Settings, dimension: str | None = None) -> list[dict]:
    """The merged aggregate documents (of one ``dimension``, or all), largest groups first."""
    merged, _, _ = collections(settings)
    query = {"dimension": dimension} if dimension else {}
    return list(merged.find(query, {"_id": 0}).sort([("dimension", 1), ("count", -1), ("key", 1)]))


def clear_aggregates(settings: Settings) -> None:
    """Drop the merged aggregates, their parts and the batch log."""
    for coll in collections(settings):
        coll.drop()


# ------------------------------------------------------------------ batch log
def record_batch(settings: Settings, key: str, doc: dict) -> None:
    """Log a batch's counts (read, stored, filtered_minor, erased, dead_letter, ...) under its key."""
    _, _, batches = collections(settings)
    retry.call(
        lambda: batches.update_one({"_id": key}, {"$set": doc}, upsert=True),
        "mongodb: record batch",
        settings.sink_retry_seconds,
    )


def read_batches(settings: Settings) -> list[dict]:
    """The finished batches' logs (a batch being written has only its dead-letter mark)."""
    _, _, batches = collections(settings)
    return list(batches.find({"read": {"$exists": True}}, {"_id": 0}).sort("finished_at", 1))


def dlq_mark(settings: Settings, key: str) -> dict | None:
    """The dead-letter topic's ``{partition: offset}`` recorded before batch ``key``'s first letter."""
    _, _, batches = collections(settings)
    doc = retry.call(
        lambda: batches.find_one({"_id": key}, {"dlq_from": 1}),
        "mongodb: read batch log",
        settings.sink_retry_seconds,
    )
    return None if doc is None else doc.get("dlq_from")


def set_dlq_mark(settings: Settings, key: str, start: dict[int, int]) -> None:
    """Record ``start`` (``{partition: offset}``) as batch ``key``'s dead-letter mark."""
    _, _, batches = collections(settings)
    mark = {"dlq_from": {str(p): o for p, o in start.items()}}
    retry.call(
        lambda: batches.update_one({"_id": key}, {"$set": mark}, upsert=True),
        "mongodb: record dead-letter start",
        settings.sink_retry_seconds,
    )
