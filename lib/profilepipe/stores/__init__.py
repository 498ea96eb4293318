"""Where the stream's results go: Cassandra rows, MongoDB aggregates, the dead-letter topic.

All three are written from the same micro-batch (``pipeline.batch_writer.BatchWriter``),
which talks to them only through the ``Sinks`` interface below; ``StoreSinks`` is the
real implementation over the three stores, a test passes a fake one.

* **Cassandra** (``stores.cassandra``): the users table, written from the executors (by
  cassandra-driver, or with ``cassandra_writer=jvm`` by the Java driver, ``stores.cassandra_jvm``);
  an INSERT is an upsert by ``user_id``, so a replayed batch changes nothing. The erasure
  register of forgotten users (``contract.erasure_key``).
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
``count_users``, ``get_user``, ``forget_user``, ``erased_keys``, ``read_aggregates``,
``read_batches``, ``read_dead_letters``, ``consume_all``, ...) are re-exported here:
``from profilepipe import stores; stores.count_users(settings)``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from profilepipe.config import Settings
from profilepipe.contract import PlanRow
from profilepipe.stores import cassandra, kafka, mongo
from profilepipe.stores.cassandra import (
    cassandra_session,
    count_users,
    delete_erased,
    erased_keys,
    get_user,
    read_users,
    truncate_erasures,
    truncate_users,
    write_cassandra,
)
from profilepipe.stores.kafka import Letter, consume_all, delete_topics, read_dead_letters, write_dead_letters
from profilepipe.stores.mongo import (
    clear_aggregates,
    collections,
    mongo_db,
    read_aggregates,
    read_batches,
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
    "count_users",
    "delete_erased",
    "erased_keys",
    "forget_user",
    "get_user",
    "read_users",
    "truncate_erasures",
    "truncate_users",
    "write_cassandra",
    "consume_all",
    "delete_topics",
    "read_dead_letters",
    "write_dead_letters",
    "clear_aggregates",
    "collections",
    "mongo_db",
    "read_aggregates",
    "read_batches",
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
        """Upsert the stored rows (a DataFrame of ``contract.USER_COLUMNS``); returns rows written."""
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
        if self.settings.cassandra_writer == "jvm":  # the Java driver on the executors
            from profilepipe.stores import cassandra_jvm

            return cassandra_jvm.write_cassandra_jvm(rows, self.settings)
        return cassandra.write_cassandra(rows, self.settings)

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
    import logging

    from profilepipe.contract import delta_rows, erasure_key

    uid = str(cassandra.user_uuid(user_id))
    cassandra.record_erasure(settings, uid)
    if settings.erase_contribution and (stuck := _wait_for_batches_in_flight(settings, wait)):
        logging.getLogger(__name__).warning(
            "forget: %d batch(es) still being written after %.0f s (a stopped stream?): if one holds "
            "this user, `profilepipe audit` will show its groups",
            len(stuck),
            wait,
        )
    row = cassandra.get_user(settings, uid)
    key = f"erase:{erasure_key(uid)}"
    plan = mongo.read_plan(settings, key) if settings.erase_contribution else None
    if plan is None and row is not None and settings.erase_contribution:
        plan = mongo.write_plan(settings, key, delta_rows([], [row]), None)
    cassandra.delete_erased(settings, [uid])
    if plan is not None:
        mongo.apply_plan(settings, plan)
        mongo.drop_plan(settings, key, log_too=True)
    return row is not None
