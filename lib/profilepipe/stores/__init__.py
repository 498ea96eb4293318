"""Where the stream's results go: Cassandra rows, MongoDB aggregates, the dead-letter topic.

All three are written from the same micro-batch (``pipeline.batch_writer.BatchWriter``),
which talks to them only through the ``Sinks`` interface below; ``StoreSinks`` is the
real implementation over the three stores, a test passes a fake one.

* **Cassandra** (``stores.cassandra``): the users table, written from the executors; an
  INSERT is an upsert by ``user_id``, so a replayed batch changes nothing. The erasure
  register of forgotten users (``contract.erasure_key``).
* **MongoDB** (``stores.mongo``): each batch's aggregates are stored as *parts* named by
  the batch key (``contract.batch_key``), the merged documents recomputed from all parts
  of the keys touched, so a replay never double counts; the batch log.
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
from profilepipe.stores import cassandra, kafka, mongo
from profilepipe.stores.cassandra import (
    cassandra_session,
    count_users,
    delete_erased,
    erased_keys,
    forget_user,
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
    merge_aggregates,
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
    "merge_aggregates",
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

    def merge_aggregates(self, rows: list[dict], key: str) -> int:
        """Merge one batch's ``(dimension, key, count, age_sum)`` rows; returns documents touched."""
        ...

    def write_dead_letters(self, letters: list[Letter], key: str) -> int:
        """Send one batch's ``(key, JSON value)`` dead letters exactly once; returns how many now."""
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
        return cassandra.write_cassandra(rows, self.settings)

    def delete_erased(self, user_ids: list[str]) -> None:
        cassandra.delete_erased(self.settings, user_ids)

    def merge_aggregates(self, rows: list[dict], key: str) -> int:
        return mongo.merge_aggregates(self.settings, rows, key)

    def write_dead_letters(self, letters: list[Letter], key: str) -> int:
        return kafka.write_dead_letters(letters, self.settings, key)

    def record_batch(self, key: str, doc: dict) -> None:
        mongo.record_batch(self.settings, key, doc)
