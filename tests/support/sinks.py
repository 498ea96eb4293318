"""``FakeSinks``: the ``stores.Sinks`` a micro-batch, an erasure and retention need, in memory;
``FakeStores``: the three stores as the audit reads them.

They stand in at the stores' interface and nowhere else: the writer, the transform and, in
``tests/spark/test_stream_files.py``, a real streaming query run as they do in production;
``stores.erasure`` and ``tools.audit`` over in-memory tables in the unit tier.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

from profilepipe import contract, stores


class FakeSinks:
    """The ``Sinks`` in memory; ``calls`` lists the operations in order.

    ``table`` is the users table (user_id -> row), ``merged`` the aggregates
    ((dimension, key) -> [count, age_sum, age_sq_sum]) that applied plans add up to,
    ``erasures`` the user ids recorded in the erasure register (``register`` holds their keys).
    """

    def __init__(self, register=(), on_write_rows=None, lose_rows: int = 0):
        self.register = set(register)
        self.on_write_rows = on_write_rows  # callable(fake): e.g. a user forgotten mid-batch
        self.lose_rows = lose_rows  # report fewer rows written than given
        self.calls: list[str] = []
        self.rows: list[dict] = []
        self.table: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.aggregates: dict[str, list[contract.PlanRow]] = {}  # batch key -> its plan's rows
        self.plans: dict[str, stores.Plan] = {}
        self.merged: dict[tuple[str, str], list[int]] = {}
        self.letters: dict[str, list] = {}
        self.batches: dict[str, dict] = {}
        self.written: dict[str, dict] = {}  # batch key -> its log document, until recorded
        self.erasures: list[str] = []
        self.in_flight: set[str] = set()  # keys of the batches being written (plans_in_flight)

    def previous_rows(self, user_ids: list[str]) -> list[dict]:
        self.calls.append("previous_rows")
        held = sorted(set(user_ids) & set(self.table))  # as the store gives them: instants in UTC
        cols = contract.CONTRIBUTION_COLUMNS
        return [{c: contract.from_spark(self.table[i][c]) for c in cols} for i in held]

    def read_plan(self, key: str):
        self.calls.append("read_plan")
        return self.plans.get(key)

    def write_plan(self, key: str, rows, as_of: str):
        self.calls.append("write_plan")
        self.plans[key] = stores.Plan(key, list(rows), as_of)  # rows as PlanRows
        self.aggregates[key] = self.plans[key].rows
        return self.plans[key]

    def apply_plan(self, plan) -> int:
        self.calls.append("apply_plan")
        if not plan.applied:
            for r in plan.rows:
                total = self.merged.setdefault((r.dimension, r.key), [0, 0, 0])
                total[0] += r.count
                total[1] += r.age_sum
                total[2] += r.age_sq_sum
            plan.applied = True
        return len(plan.rows)

    def nonzero(self) -> dict[tuple[str, str], tuple[int, int, int]]:
        return {k: (c, a, q) for k, (c, a, q) in self.merged.items() if c}

    def table_groups(self) -> dict:
        """The aggregates the table implies (``contract.group_rows``): what ``nonzero`` must equal."""
        rows = [{k: contract.from_spark(v) for k, v in row.items()} for row in self.table.values()]
        return contract.group_rows(rows)

    def erased_keys(self) -> set[str]:
        self.calls.append("erased_keys")
        return set(self.register)

    def write_rows(self, rows) -> int:
        self.calls.append("write_rows")
        got = [r.asDict() for r in rows.collect()]
        self.rows.extend(got)
        self.table.update({r["user_id"]: r for r in got})
        if self.on_write_rows:
            self.on_write_rows(self)
        return len(got) - self.lose_rows

    def delete_erased(self, user_ids: list[str]) -> None:
        self.calls.append("delete_erased")
        self.deleted.extend(user_ids)
        for user_id in user_ids:
            self.table.pop(user_id, None)

    def write_dead_letters(self, letters, key: str) -> int:
        self.calls.append("write_dead_letters")
        self.letters[key] = list(letters)
        return len(letters)

    def mark_written(self, key: str, doc: dict) -> None:
        self.calls.append("mark_written")
        self.written[key] = doc

    def written_batches(self) -> list[tuple[str, dict]]:
        self.calls.append("written_batches")
        return sorted(self.written.items(), key=lambda kd: kd[1]["finished_at"])

    def record_batch(self, key: str, doc: dict) -> None:
        self.calls.append("record_batch")
        self.batches[key] = doc
        self.plans.pop(key, None)  # recording a batch ends its plan...
        self.written.pop(key, None)  # ...and its written mark

    # what erasure and retention need besides (``stores.erasure``)
    def record_erasure(self, user_id: str) -> None:
        self.calls.append("record_erasure")
        self.erasures.append(user_id)
        self.register.add(contract.erasure_key(user_id))

    def get_user(self, user_id: str) -> dict | None:
        self.calls.append("get_user")
        return self.table.get(user_id)

    def rows_ingested_before(self, cutoff) -> list[dict]:
        self.calls.append("rows_ingested_before")
        return [dict(r) for r in self.table.values() if contract.past_retention(r["ingested_at"], cutoff)]

    def plans_in_flight(self) -> set[str]:
        self.calls.append("plans_in_flight")
        return set(self.in_flight)

    def removal_plans(self, prefix: str) -> list[str]:
        self.calls.append("removal_plans")
        return sorted(k for k in self.plans if k.startswith(prefix))

    def drop_plan(self, key: str, log_too: bool = False) -> None:
        self.calls.append("drop_plan")
        self.plans.pop(key, None)


class FakeCassandra:
    """The users table as the audit reads it: ``rows`` (dicts), as driver rows."""

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def scan_users(self) -> list:
        if not self.rows:
            return []
        Row = namedtuple("Row", list(self.rows[0]))
        return [Row(**r) for r in self.rows]


class FakeMongo:
    """The collections (objects with ``name`` and ``find``), the aggregates and the batch log."""

    def __init__(self, collections=(), aggregates=lambda: [], batches=()):
        self.collections, self.aggregates, self.batches = list(collections), aggregates, list(batches)

    def documents(self) -> dict[str, list[dict]]:
        return {coll.name: list(coll.find({})) for coll in self.collections}

    def read_raw_aggregates(self) -> list[dict]:
        return self.aggregates()  # computed when read: the rows may change between audits

    def read_batches(self) -> list[dict]:
        return list(self.batches)


class FakeDeadLetters:
    def __init__(self, messages=()):
        self.letters = list(messages)

    def messages(self) -> list:
        return list(self.letters)


@dataclass
class FakeStores:
    """The three stores as ``tools.audit.scan`` reads them (``stores.StoreSinks``'s attributes)."""

    cassandra: FakeCassandra
    mongo: FakeMongo
    dead_letters: FakeDeadLetters
