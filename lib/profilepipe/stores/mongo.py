"""MongoDB: ``MongoStore``, the merged aggregates, the plans written ahead of them, the batch log.

The merged documents (``_id`` ``<dimension>|<group>``: ``count``, ``age_sum``, ``age_sq_sum``)
follow ``contract.AGGREGATE_RULE``; ``read_raw_aggregates`` reads them exactly (``avg_age`` and
``suppressed`` derived); ``analysis.disclosure.read_aggregates`` publishes them protected.
``age_sq_sum`` is exact only in a document created with it: one created by a version before it
lacks the field, and a later ``$inc`` would start it part way, so a document created here carries
``AGE_SQ_KNOWN`` (set on insert) and the read functions give ``age_sq_sum`` None (unknown: no
confidence interval) without it; after ``profilepipe reset`` and a new run, all have it. A
batch changes them only by a ``Plan``: written ahead (``write_plan``: one *part* per group,
``_id`` ``<dimension>|<group>|<batch key>``, then a header in the batch log), applied
exactly once (``apply_plan``), ended by ``record_batch``. Why in that order, and what a
replay does: docs/ARCHITECTURE.md#failure-model.

The batch log (``<collection>_batches``) holds one document per batch key: the plan's
header while one is written, the ``written`` mark, the dead-letter mark (``dlq_mark``: where
the dead-letter topic ended before the batch's first letter, ``stores.dead_letters``) and,
once recorded, the batch's counts. The stored field names (a part's ``key``, the log's
``plan``) are kept as older versions wrote them: a plan written by one is still read.

The store opens one pymongo client on first use (``close`` closes it); each of its writes
retries while the server is unreachable (``retry.Retry``, at most ``sink_retry_seconds``).
Bulk writes go in commands of at most ``BULK_CHUNK`` operations:
FerretDB v1 (SQLite) never answers an ``update`` command of 100 or more statements that
match existing documents (each holds one of its 100 connections until the command ends);
MongoDB itself splits at 100,000, so smaller commands change nothing there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from profilepipe import contract, retry
from profilepipe.config import Settings
from profilepipe.contract import PlanRow
from profilepipe.errors import BatchError

BULK_CHUNK = 64  # operations per bulk-write command (see the module docstring)
#: Field of a merged document whose ``age_sq_sum`` has counted every contribution since its
#: creation (see the module docstring); never returned by the read functions.
AGE_SQ_KNOWN = "age_sq_known"


class Collections(NamedTuple):
    """The three collections of ``settings.mongo_collection`` (pymongo ``Collection``s)."""

    merged: Any  # the merged aggregates: one document per dimension and group
    parts: Any  # the plans' parts: one document per group and batch key
    batches: Any  # the batch log: one document per batch key


# ------------------------------------------------------------------ aggregates
@dataclass
class Plan:
    """A batch's write-ahead change to the aggregates (``write_plan``), reused on a replay."""

    #: ``contract.batch_key`` of the batch, or a removal's: ``ERASE_PREFIX`` + erasure key (a
    #: forget), ``RETAIN_PREFIX`` + cutoff (``retain``)
    batch_key: str
    rows: list[PlanRow]  # non-zero only (stored parts given as mappings are converted)
    as_of: str | None  # the processing date the batch computed ages with (a replay reuses it)
    applied: bool = False  # the merged documents hold it (``apply_plan``)

    def __post_init__(self) -> None:
        self.rows = [PlanRow.of(r) for r in self.rows]


#: Key prefixes of the plans that remove stored rows, not batches: ``erasure.forget_user``'s
#: (``erase:<erasure key>``) and ``erasure.retain``'s (``retain:<cutoff, ISO 8601 UTC>``).
ERASE_PREFIX, RETAIN_PREFIX = "erase:", "retain:"
REMOVAL_PREFIXES = (ERASE_PREFIX, RETAIN_PREFIX)


class MongoStore:
    """The aggregates, their plans and the batch log of ``settings``, through one client of its own."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.retry = retry.Retry(settings.sink_retry_seconds)
        self._client: Any = None

    def db(self):
        """The configured database (the client connects on first use; options: ``connections``)."""
        if self._client is None:
            from pymongo import MongoClient

            from profilepipe import connections

            self._client = MongoClient(self.settings.mongo_uri, **connections.mongo_options(self.settings))
        return self._client[self.settings.mongo_database]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    def collections(self) -> Collections:
        """The merged aggregates, the plans' parts and the batch log."""
        db, name = self.db(), self.settings.mongo_collection
        return Collections(db[name], db[f"{name}_parts"], db[f"{name}_batches"])

    # -------------------------------------------------------------- plans and aggregates
    def read_plan(self, batch_key: str) -> Plan | None:
        """The plan of batch ``batch_key`` written since the key was last recorded, or None."""
        colls = self.collections()

        def read() -> Plan | None:
            doc = colls.batches.find_one({"_id": batch_key}, {"plan": 1})
            plan = (doc or {}).get("plan")
            if not plan:
                return None
            rows = [PlanRow.of(p) for p in colls.parts.find({"batch": batch_key}, {"_id": 0})]
            if len(rows) != plan["groups"]:
                raise BatchError(
                    f"mongodb: plan of batch {batch_key} has {len(rows)} of its {plan['groups']} parts"
                )
            return Plan(batch_key, rows, plan.get("as_of"), plan.get("state") == "applied")

        return self.retry("mongodb: read a batch's plan", read)

    def write_plan(self, batch_key: str, rows: Iterable[PlanRow], as_of: str | None) -> Plan:
        """Store a batch's change to the aggregates before the rows it depends on are overwritten.

        ``rows``: ``contract.delta_rows``. The parts first (any earlier ones
        of the key removed), then the plan's header in the batch log: a header means a complete plan.
        """
        from pymongo import InsertOne

        colls = self.collections()
        plan = Plan(batch_key, list(rows), as_of)
        docs = [_part(r, batch_key) for r in plan.rows]

        def write() -> None:
            colls.parts.delete_many({"batch": batch_key})
            _bulk_write(colls.parts, [InsertOne(d) for d in docs])
            header = {"groups": len(docs), "as_of": as_of, "state": "planned", "at": dt.datetime.now(dt.UTC)}
            colls.batches.update_one({"_id": batch_key}, {"$set": {"plan": header}}, upsert=True)

        self.retry(f"mongodb: write the plan of {len(docs)} groups", write)
        return plan

    def apply_plan(self, plan: Plan) -> int:
        """Add a plan's deltas to the merged documents exactly once; returns documents touched.

        Each merged document lists the plans being applied to it (``applied``): the ``$inc``
        and the ``$push`` of the batch key are one atomic update, guarded by ``applied != key``, so a
        replay never adds twice. Once every document holds it, the plan is marked applied;
        only then are the keys pulled again, so the lists stay as short as the plans in flight.
        The guarded update runs first; only a batch that touches a new group (or a replay) also
        creates the missing documents and runs it again. The cost depends on the groups a batch
        touches, never on how long the stream has run (by ``_id``, through the ``_id`` index).
        """
        from pymongo import UpdateOne

        colls = self.collections()
        key = plan.batch_key
        dks = {r.merged_id: r for r in plan.rows}
        new = {"count": 0, "age_sum": 0, "age_sq_sum": 0, AGE_SQ_KNOWN: True}
        start = [
            UpdateOne(
                {"_id": dk}, {"$setOnInsert": {"dimension": r.dimension, "key": r.key, **new}}, upsert=True
            )
            for dk, r in dks.items()
        ]
        guarded = [
            UpdateOne({"_id": dk, "applied": {"$ne": key}}, _increment(r, key)) for dk, r in dks.items()
        ]

        def add() -> None:
            # most groups of a batch exist already: the guarded $inc first; when some did not
            # match (a new group, or a replay that had added to some), create the missing
            # documents and run it again (the guard skips those that hold the plan)
            if _bulk_write(colls.merged, guarded) < len(guarded):
                _bulk_write(colls.merged, start)
                _bulk_write(colls.merged, guarded)
            colls.batches.update_one({"_id": key}, {"$set": {"plan.state": "applied"}})

        def settle() -> None:  # the derived avg_age/suppressed are computed when read (read_raw_aggregates)
            now = dt.datetime.now(dt.UTC)
            done = {"$set": {"updated_at": now}, "$pull": {"applied": key}}
            _bulk_write(colls.merged, [UpdateOne({"_id": dk}, done) for dk in dks])

        if not plan.applied:
            self.retry(f"mongodb: apply {len(dks)} aggregate changes", add)
        self.retry(f"mongodb: settle {len(dks)} aggregates", settle)
        return len(dks)

    def _planned_keys(self) -> set[str]:
        """Keys of every plan written and not yet dropped or recorded."""
        batches = self.collections().batches
        docs = self.retry(
            "mongodb: read the plans in flight",
            lambda: list(batches.find({"plan": {"$exists": True}}, {"_id": 1})),
        )
        return {str(d["_id"]) for d in docs}

    def plans_in_flight(self) -> set[str]:
        """Keys of the batches whose plan is written and not yet recorded (a batch being written)."""
        return {k for k in self._planned_keys() if not k.startswith(REMOVAL_PREFIXES)}

    def removal_plans(self, prefix: str) -> list[str]:
        """Keys of the removal plans under ``prefix`` (``retain:``) a run stopped half-way left, sorted."""
        return sorted(k for k in self._planned_keys() if k.startswith(prefix))

    def drop_plan(self, batch_key: str, log_too: bool = False) -> None:
        """Remove a finished plan's parts (and, ``log_too``, its batch-log document: a ``forget``)."""
        colls = self.collections()

        def drop() -> None:
            colls.parts.delete_many({"batch": batch_key})
            if log_too:
                colls.batches.delete_one({"_id": batch_key})

        self.retry("mongodb: drop a finished plan", drop)

    def read_raw_aggregates(self, dimension: str | None = None) -> list[dict]:
        """The exact merged aggregates, small groups included: only to reconcile, never to publish.

        Of one ``dimension``, or all; largest groups first; empty groups left out. ``avg_age`` and
        ``suppressed`` (``count < k_anonymity``, the primary rule alone) are derived here from
        ``count`` and ``age_sum`` (so they are exact even while a plan is being settled); ``age_sq_sum``
        is None where unknown (a document from before it existed: see the module). The audit and
        the tests that compare the aggregates with the table read this; what is shown reads
        ``read_aggregates``.
        """
        query = {"dimension": dimension} if dimension else {}
        query["count"] = {"$gt": 0}
        docs = self.collections().merged.find(query, {"_id": 0, "applied": 0})
        docs = docs.sort([("dimension", 1), ("count", -1), ("key", 1)])
        return [_merged(d, self.settings.k_anonymity) for d in docs]

    def documents(self) -> dict[str, list[dict]]:
        """Every document of the three collections, by collection name (the audit searches them all)."""
        return {coll.name: list(coll.find({})) for coll in self.collections()}

    def clear_aggregates(self) -> None:
        """Drop the merged aggregates, their parts and the batch log."""
        for coll in self.collections():
            coll.drop()

    # -------------------------------------------------------------- batch log
    def mark_written(self, key: str, doc: dict) -> None:
        """Keep batch ``key``'s batch-log document as ``written``: its rows and dead letters are
        stored, its plan not yet applied (``written_batches`` finds it if the stream stops first)."""
        batches = self.collections().batches
        self.retry(
            "mongodb: mark a batch written",
            lambda: batches.update_one({"_id": key}, {"$set": {"written": doc}}, upsert=True),
        )

    def written_batches(self) -> list[tuple[str, dict]]:
        """``(key, batch-log document)`` of the batches marked written and not recorded, oldest first."""
        batches = self.collections().batches
        docs = self.retry(
            "mongodb: read the batches written and not recorded",
            lambda: list(batches.find({"written": {"$exists": True}}, {"written": 1})),
        )
        return sorted(((d["_id"], d["written"]) for d in docs), key=lambda kd: kd[1]["finished_at"])

    def record_batch(self, key: str, doc: dict) -> None:
        """Log a batch's counts (read, stored, filtered_minor, erased, dead_letter, ...) under its key.

        The same update ends the batch's plan (a replay after this plans again, against the
        table as it is then) and its ``written`` mark; its parts are dropped next.
        """
        batches = self.collections().batches
        end = {"$set": doc, "$unset": {"plan": "", "written": ""}}
        self.retry("mongodb: record batch", lambda: batches.update_one({"_id": key}, end, upsert=True))
        self.drop_plan(key)

    def read_batches(self) -> list[dict]:
        """The finished batches' logs (a batch being written has only its dead-letter mark)."""
        batches = self.collections().batches
        return list(batches.find({"read": {"$exists": True}}, {"_id": 0}).sort("finished_at", 1))

    def acknowledge_losses(self) -> int:
        """Mark the batch-log documents that recorded offsets lost before the stream read them
        (``pipeline.gaps``) as acknowledged, so the audit no longer reports them; how many."""
        done = self.collections().batches.update_many(
            {"lost_acknowledged": False},  # set (False) only where a loss was recorded
            {"$set": {"lost_acknowledged": True, "lost_acknowledged_at": dt.datetime.now(dt.UTC)}},
        )
        return done.modified_count

    def dlq_mark(self, key: str) -> dict | None:
        """The dead-letter topic's ``{partition: offset}`` recorded before batch ``key``'s first letter."""
        batches = self.collections().batches
        doc = self.retry("mongodb: read batch log", lambda: batches.find_one({"_id": key}, {"dlq_from": 1}))
        return None if doc is None else doc.get("dlq_from")

    def set_dlq_mark(self, key: str, start: dict[int, int]) -> None:
        """Record ``start`` (``{partition: offset}``) as batch ``key``'s dead-letter mark."""
        batches = self.collections().batches
        mark = {"$set": {"dlq_from": {str(p): o for p, o in start.items()}}}
        self.retry(
            "mongodb: record dead-letter start", lambda: batches.update_one({"_id": key}, mark, upsert=True)
        )


def _increment(row: PlanRow, key: str) -> dict:
    """The guarded update of one merged document by plan ``key``'s ``row``: its three sums added
    (a row of unknown ``age_sq_sum``, from an older part, makes the document's unknown too)."""
    sums = {"count": row.count, "age_sum": row.age_sum}
    if row.age_sq_sum is None:
        return {"$inc": sums, "$set": {AGE_SQ_KNOWN: False}, "$push": {"applied": key}}
    return {"$inc": {**sums, "age_sq_sum": row.age_sq_sum}, "$push": {"applied": key}}


def _part(row: PlanRow, batch_key: str) -> dict:
    """The part document of one row of batch ``batch_key``'s plan (stored field names: see the module)."""
    return {
        "_id": f"{row.merged_id}|{batch_key}",
        "dk": row.merged_id,
        "dimension": row.dimension,
        "key": row.key,
        "batch": batch_key,
        "count": row.count,
        "age_sum": row.age_sum,
        "age_sq_sum": row.age_sq_sum,
    }


def _derived(count: int, age_sum: int, k_anonymity: int) -> dict:
    """A merged document's fields derived from its ``count`` and ``age_sum``."""
    avg_age = round(age_sum / count, 3) if count else None
    return {"avg_age": avg_age, "suppressed": contract.below_k(count, k_anonymity)}


def _merged(doc: dict, k_anonymity: int) -> dict:
    """A merged document as the read functions give it: ``age_sq_sum`` None unless known
    (``AGE_SQ_KNOWN``), ``avg_age`` and ``suppressed`` derived."""
    doc = dict(doc)
    known = doc.pop(AGE_SQ_KNOWN, False) is True and doc.get("age_sq_sum") is not None
    doc["age_sq_sum"] = int(doc["age_sq_sum"]) if known else None
    return {**doc, **_derived(int(doc["count"]), int(doc["age_sum"]), k_anonymity)}


def _bulk_write(collection, ops: list) -> int:
    """Unordered bulk writes of at most ``BULK_CHUNK`` operations each; returns documents matched."""
    matched = 0
    for i in range(0, len(ops), BULK_CHUNK):
        matched += collection.bulk_write(ops[i : i + BULK_CHUNK], ordered=False).matched_count
    return matched
