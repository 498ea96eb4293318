"""Where the stream's results go: Cassandra rows, MongoDB aggregates, the dead-letter topic.

All three are written from the same micro-batch (``pipeline.batch_writer.BatchWriter``),
which talks to them only through the ``Sinks`` interface below; ``StoreSinks`` is the
real implementation over the three stores, a test passes a fake one.

* **Cassandra**: the users table, written on the executors by the Java driver
  (``stores.cassandra_jvm``); an INSERT is an upsert by ``user_id``, so a replayed batch changes
  nothing. Read, erased and the erasure register of forgotten users (``contract.erasure_key``)
  kept from Python (``stores.cassandra``).
* **MongoDB** (``stores.mongo``): the aggregates, equal to a GROUP BY over the users table
  (``contract.AGGREGATE_RULE``): each batch writes its change ahead as a *plan* named by
  the batch key (``contract.batch_key``), computed before its rows overwrite the ones it
  replaces, and applies it exactly once, so a replay never double counts; the batch log.
* **Dead letters** (``stores.kafka``): sent to ``<topic>.dlq`` with the reason and the
  source coordinates instead of the message itself (no personal data is copied), from the
  driver, exactly once per batch even when the batch is replayed.

Every write retries while its store is unreachable (``retry.call``), for at most
``sink_retry_seconds``; after that the batch fails and ``stream.run`` restarts the query.

The module-level functions that notebooks, tools and tests call (``read_users``,
``count_users``, ``get_user``, ``forget_user``, ``retain``, ``erased_keys``, ``read_aggregates``
(published: protected, ``pipeline.disclosure``), ``read_raw_aggregates`` (exact: to reconcile),
``read_batches``, ``read_dead_letters``, ``read_to_end``, ...) are re-exported here:
``from profilepipe import stores; stores.count_users(settings)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, runtime_checkable

from profilepipe import contract
from profilepipe.config import Settings
from profilepipe.contract import PlanRow
from profilepipe.stores import cassandra, cassandra_jvm, kafka, mongo
from profilepipe.stores.cassandra import (
    cassandra_session,
    check_profile,
    close_sessions,
    count_users,
    delete_erased,
    drop_users,
    erased_keys,
    get_user,
    read_users,
    table_columns,
    truncate_erasures,
    truncate_users,
)
from profilepipe.stores.kafka import Letter, delete_topics, read_dead_letters, read_to_end, write_dead_letters
from profilepipe.stores.mongo import (
    clear_aggregates,
    collections,
    mongo_db,
    read_aggregates,
    read_batches,
    read_raw_aggregates,
    record_batch,
)

__all__ = [
    "Letter",
    "Sinks",
    "StoreSinks",
    "cassandra",
    "kafka",
    "mongo",
    "cassandra_session",
    "check_profile",
    "close_sessions",
    "count_users",
    "delete_erased",
    "drop_users",
    "erased_keys",
    "forget_user",
    "get_user",
    "read_users",
    "retain",
    "table_columns",
    "truncate_erasures",
    "truncate_users",
    "delete_topics",
    "read_dead_letters",
    "read_to_end",
    "write_dead_letters",
    "clear_aggregates",
    "collections",
    "mongo_db",
    "read_aggregates",
    "read_batches",
    "read_raw_aggregates",
    "record_batch",
]


@runtime_checkable
class Sinks(Protocol):
    """Exactly what one micro-batch needs from the stores (``BatchWriter`` calls nothing else).

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

    def read_plan(self, key: str) -> mongo.Plan | None:
        """Batch ``key``'s change to the aggregates, if one was written since the key was last recorded."""
        ...

    def write_plan(self, key: str, rows: list[PlanRow], as_of: str) -> mongo.Plan:
        """Store batch ``key``'s ``(dimension, key, count, age_sum)`` changes before its rows are written."""
        ...

    def apply_plan(self, plan: mongo.Plan) -> int:
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


class StoreSinks:
    """``Sinks`` over the real stores: Cassandra, MongoDB and the dead-letter topic."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def erased_keys(self) -> set[str]:
        return cassandra.erased_keys(self.settings)

    def write_rows(self, rows: Any) -> int:
        return cassandra_jvm.write_cassandra_jvm(rows, self.settings)

    def delete_erased(self, user_ids: list[str]) -> None:
        cassandra.delete_erased(self.settings, user_ids)

    def previous_rows(self, user_ids: list[str]) -> list[dict]:
        return cassandra.previous_rows(self.settings, user_ids)

    def read_plan(self, key: str) -> mongo.Plan | None:
        return mongo.read_plan(self.settings, key)

    def write_plan(self, key: str, rows: list[PlanRow], as_of: str) -> mongo.Plan:
        return mongo.write_plan(self.settings, key, rows, as_of)

    def apply_plan(self, plan: mongo.Plan) -> int:
        return mongo.apply_plan(self.settings, plan)

    def write_dead_letters(self, letters: list[Letter], key: str) -> int:
        return kafka.write_dead_letters(letters, self.settings, key)

    def mark_written(self, key: str, doc: dict) -> None:
        mongo.mark_written(self.settings, key, doc)

    def written_batches(self) -> list[tuple[str, dict]]:
        return mongo.written_batches(self.settings)

    def record_batch(self, key: str, doc: dict) -> None:
        mongo.record_batch(self.settings, key, doc)


#: How long ``forget_user`` waits for the batches being written when it records an erasure.
IN_FLIGHT_WAIT_SECONDS = 60.0


def _wait_for_batches_in_flight(settings: Settings, wait: float) -> set[str]:
    """Wait until every batch planned now is recorded (at most ``wait`` s); returns those still not."""
    import time

    pending = mongo.plans_in_flight(settings)
    deadline = time.monotonic() + wait
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending &= mongo.plans_in_flight(settings)
    return pending


def forget_user(settings: Settings, user_id: str, wait: float = IN_FLIGHT_WAIT_SECONDS) -> bool:
    """GDPR right to erasure: record the erasure, remove the user's contribution, delete the row.

    Returns whether a row was there. The erasure is recorded first, so a batch being
    written at that moment either sees it (and drops the user) or deletes the row again
    when it finishes (``delete_erased``); a later replay of old Kafka offsets drops the
    user too. With ``Settings.erase_contribution`` (the default) the row's contribution is
    taken out of the aggregates by a plan of its own (``erase:<erasure key>``), written
    before the row is deleted, so a ``forget`` interrupted half-way and run again finishes
    exactly (``contract.AGGREGATE_RULE`` holds); without it the counts keep the user.

    A batch being written when the erasure is recorded either dropped the user at its start
    or finds the erasure after its rows (``BatchWriter``): it then deletes the row again and
    takes its own contribution back. So the row is read only once those batches are
    recorded (at most ``wait`` seconds; a stream killed mid-batch is not waited for longer,
    and a warning says so).
    """
    from profilepipe.contract import erasure_key

    uid = str(cassandra.user_uuid(user_id))
    cassandra.record_erasure(settings, uid)
    if settings.erase_contribution:
        _wait_for_batches(settings, wait, "forget", "this user")
    row = cassandra.get_user(settings, uid)
    key = mongo.ERASE_PREFIX + erasure_key(uid)
    _remove_rows(settings, key, [uid], [row] if row else [], settings.erase_contribution)
    return row is not None


def retain(
    settings: Settings, days: int, now: dt.datetime | None = None, wait: float = IN_FLIGHT_WAIT_SECONDS
) -> int:
    """Storage limitation (GDPR Art. 5(1)(e)): remove every row ingested more than ``days`` days ago.

    Returns the rows removed. ``now`` defaults to now (UTC); the cutoff is
    ``contract.retention_cutoff(days, now)``. Each row leaves as in ``forget_user``: a plan
    taking its contribution out of the aggregates (always, whatever ``erase_contribution``
    says: they stay the table's GROUP BY), then the delete, then the plan applied. Nobody is
    added to the erasure register: this is not an erasure request, and a user sent again
    later is new data, stored again.

    One plan covers the run, named by its cutoff (``retain:<cutoff>``). A run stopped
    half-way leaves it; the next run first finishes it: it deletes the rows ingested before
    that cutoff (no row is ever stored with an older ``ingested_at`` later) and applies the
    plan. The batches being written are waited for first (at most ``wait`` seconds); a
    batch that rewrites an old row while ``retain`` runs would count its removal twice, so
    run it while the stream is stopped (docs/privacy.md, "Retention").
    """
    if days < 1:
        raise ValueError(f"a retention period is a number of days, at least 1 (not {days})")
    new_key = mongo.RETAIN_PREFIX + contract.retention_cutoff(days, now).isoformat()
    _wait_for_batches(settings, wait, "retain", "an old row")
    removed = 0
    leftovers = [k for k in mongo.removal_plans(settings, mongo.RETAIN_PREFIX) if k != new_key]
    for key in [*leftovers, new_key]:
        cutoff = dt.datetime.fromisoformat(key.removeprefix(mongo.RETAIN_PREFIX))
        rows = cassandra.rows_ingested_before(settings, cutoff)
        _remove_rows(settings, key, [r["user_id"] for r in rows], rows, subtract=True)
        removed += len(rows)
    return removed


def _wait_for_batches(settings: Settings, wait: float, command: str, whose: str) -> None:
    """Wait for the batches being written (``_wait_for_batches_in_flight``); a warning if some are stuck."""
    import logging

    if stuck := _wait_for_batches_in_flight(settings, wait):
        logging.getLogger(__name__).warning(
            "%s: %d batch(es) still being written after %.0f s (a stopped stream?): if one holds "
            "%s, `profilepipe audit` will show its groups",
            command,
            len(stuck),
            wait,
            whose,
        )


def _remove_rows(settings: Settings, key: str, user_ids: list[str], rows: list[dict], subtract: bool) -> None:
    """Delete stored rows and, ``subtract``, their contribution to the aggregates, exactly once.

    The path ``forget_user`` and ``retain`` share, in a batch's write-ahead order: the plan
    ``key`` (``contract.delta_rows([], rows)``) is written before the rows are deleted and
    applied after, then dropped. Run again with the same ``key`` after stopping half-way, it
    reuses the plan it finds (the rows may be gone by then) and finishes exactly.
    """
    plan = mongo.read_plan(settings, key) if subtract else None
    if plan is None and rows and subtract:
        plan = mongo.write_plan(settings, key, contract.delta_rows([], rows), None)
    cassandra.delete_erased(settings, user_ids)
    if plan is not None:
        mongo.apply_plan(settings, plan)
        mongo.drop_plan(settings, key, log_too=True)
