"""Where the stream's results go: Cassandra rows, MongoDB aggregates, the dead-letter topic.

Three store objects, each built from the settings and holding its client and its retry policy
(``retry.Retry``, ``sink_retry_seconds``), which it applies to its own operations:

* ``CassandraStore`` (``stores.cassandra``): the users table, written on the executors by the
  Java driver (``stores.cassandra_jvm``), upserts by ``user_id``. Read, erased and the erasure
  register of forgotten users (``contract.erasure_key``) kept from Python.
* ``MongoStore`` (``stores.mongo``): the aggregates, equal to a GROUP BY over the users table
  (``contract.AGGREGATE_RULE``), changed by plans written ahead and named by the batch key
  (``contract.batch_key``); the batch log.
* ``DeadLetterTopic`` (``stores.dead_letters``): sent to ``<topic>.dlq`` with the reason and
  the source coordinates instead of the message itself (no personal data is copied), from the
  driver.

``StoreSinks`` holds the three (``.cassandra``, ``.mongo``, ``.dead_letters``) and is the one way
in: ``stores.connect(settings)`` gives this process's, built once per settings. The batch writer
and erasure and retention (``stores.erasure``) talk to it only through the ``Sinks`` interface
below, so a test passes a fake one; the audit, the tools and the notebooks read through its
stores: ``stores.connect(settings).cassandra.count_users()``. Every write is idempotent for the
batch's key and retried while its store is unreachable: docs/ARCHITECTURE.md#failure-model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Protocol, runtime_checkable

from profilepipe.config import Settings
from profilepipe.contract import PlanRow
from profilepipe.stores.cassandra import CassandraStore
from profilepipe.stores.dead_letters import DeadLetterTopic, Letter
from profilepipe.stores.mongo import MongoStore, Plan

__all__ = [
    "CassandraStore",
    "DeadLetterTopic",
    "Letter",
    "MongoStore",
    "Plan",
    "Sinks",
    "StoreSinks",
    "close_all",
    "connect",
]


@runtime_checkable
class Sinks(Protocol):
    """Exactly what one micro-batch (``BatchWriter``), an erasure and retention
    (``stores.erasure``) need from the stores; they call nothing else.

    Every operation must be idempotent for the same batch ``key``: a batch killed half-way
    is replayed from the same offsets and calls them again.
    """

    def erased_keys(self) -> set[str]:
        """The erasure register: ``contract.erasure_key`` of every forgotten user."""
        ...

    def write_rows(self, rows: Any) -> int:
        """Upsert the stored rows (a DataFrame of ``settings.user_columns``); returns rows written."""
        ...

    def delete_erased(self, user_ids: list[str]) -> None:
        """Delete the rows of users forgotten while their batch was being written."""
        ...

    def previous_rows(self, user_ids: list[str]) -> list[dict]:
        """The rows the table holds now for these users: their ``contract.CONTRIBUTION_COLUMNS``
        (none for a user not stored yet), instants as aware UTC datetimes."""
        ...

    def read_plan(self, key: str) -> Plan | None:
        """Batch ``key``'s change to the aggregates, if one was written since the key was last recorded."""
        ...

    def write_plan(self, key: str, rows: list[PlanRow], as_of: str) -> Plan:
        """Store batch ``key``'s ``(dimension, key, count, age_sum)`` changes before its rows are written."""
        ...

    def apply_plan(self, plan: Plan) -> int:
        """Add a plan to the aggregates exactly once; returns documents touched."""
        ...

    def write_dead_letters(self, letters: list[Letter], key: str) -> int:
        """Send one batch's ``(key, JSON value)`` dead letters exactly once; returns how many now."""
        ...

    def mark_written(self, key: str, doc: dict) -> None:
        """Keep the batch-log document of batch ``key``, whose rows and dead letters are written,
        until its plan is applied and it is recorded (``written_batches`` until then)."""
        ...

    def written_batches(self) -> list[tuple[str, dict]]:
        """``(key, document)`` of the batches marked written and not yet recorded, oldest first."""
        ...

    def record_batch(self, key: str, doc: dict) -> None:
        """Log the finished batch's document (its counts) under its key: the last write of a batch."""
        ...

    # erasure and retention (``stores.erasure``) need these too
    def record_erasure(self, user_id: str) -> None:
        """Add a user to the erasure register."""
        ...

    def get_user(self, user_id: str) -> dict | None:
        """The stored row of ``user_id``, or None."""
        ...

    def rows_ingested_before(self, cutoff: dt.datetime) -> list[dict]:
        """``user_id`` and ``contract.CONTRIBUTION_COLUMNS`` of the rows ingested before ``cutoff``."""
        ...

    def plans_in_flight(self) -> set[str]:
        """Keys of the batches whose plan is written and not yet recorded."""
        ...

    def removal_plans(self, prefix: str) -> list[str]:
        """Keys of the removal plans under ``prefix`` left by a run stopped half-way, sorted."""
        ...

    def drop_plan(self, key: str, log_too: bool = False) -> None:
        """Remove a finished plan's parts (and, ``log_too``, its batch-log document)."""
        ...


class StoreSinks:
    """``Sinks`` over the real stores: Cassandra, MongoDB and the dead-letter topic, built once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.cassandra = CassandraStore(settings)
        self.mongo = MongoStore(settings)
        self.dead_letters = DeadLetterTopic(settings, self.mongo)

    def close(self) -> None:
        """Close the stores' clients (a store used again opens a new one)."""
        for store in (self.cassandra, self.mongo, self.dead_letters):
            store.close()

    # what a batch needs (``Sinks``), each from the store that holds it
    def erased_keys(self) -> set[str]:
        return self.cassandra.erased_keys()

    def write_rows(self, rows: Any) -> int:
        return self.cassandra.write_rows(rows)

    def delete_erased(self, user_ids: list[str]) -> None:
        self.cassandra.delete_erased(user_ids)

    def previous_rows(self, user_ids: list[str]) -> list[dict]:
        return self.cassandra.previous_rows(user_ids)

    def read_plan(self, key: str) -> Plan | None:
        return self.mongo.read_plan(key)

    def write_plan(self, key: str, rows: list[PlanRow], as_of: str | None) -> Plan:
        return self.mongo.write_plan(key, rows, as_of)

    def apply_plan(self, plan: Plan) -> int:
        return self.mongo.apply_plan(plan)

    def write_dead_letters(self, letters: list[Letter], key: str) -> int:
        return self.dead_letters.write(letters, key)

    def mark_written(self, key: str, doc: dict) -> None:
        self.mongo.mark_written(key, doc)

    def written_batches(self) -> list[tuple[str, dict]]:
        return self.mongo.written_batches()

    def record_batch(self, key: str, doc: dict) -> None:
        self.mongo.record_batch(key, doc)

    def record_erasure(self, user_id: str) -> None:
        self.cassandra.record_erasure(user_id)

    def get_user(self, user_id: str) -> dict | None:
        return self.cassandra.get_user(user_id)

    def rows_ingested_before(self, cutoff: dt.datetime) -> list[dict]:
        return self.cassandra.rows_ingested_before(cutoff)

    def plans_in_flight(self) -> set[str]:
        return self.mongo.plans_in_flight()

    def removal_plans(self, prefix: str) -> list[str]:
        return self.mongo.removal_plans(prefix)

    def drop_plan(self, key: str, log_too: bool = False) -> None:
        self.mongo.drop_plan(key, log_too)


_OPEN: dict[str, StoreSinks] = {}  # this process's stores, one set per settings (by digest)


def connect(settings: Settings) -> StoreSinks:
    """This process's ``StoreSinks`` for ``settings``: built on the first call, then the same one.

    Kept by a digest of the settings, so the long-lived keys hold no password.
    """
    key = hashlib.sha256(repr(settings).encode()).hexdigest()
    sinks = _OPEN.get(key)
    if sinks is None:
        sinks = _OPEN[key] = StoreSinks(settings)
    return sinks


def close_all() -> None:
    """Close every store ``connect`` built (their clients), while the interpreter still runs."""
    for sinks in _OPEN.values():
        sinks.close()
    _OPEN.clear()
