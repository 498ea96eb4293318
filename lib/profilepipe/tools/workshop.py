"""What the notebooks check before a step, and the lines they print after it.

The notebooks are run in order by ``profilepipe run`` and by nbval, but in a workshop they
are also run twice, or out of order. Each check here either passes or raises
``errors.NotReady`` with one line that says what to run first; each summary says what
happened in words, including "nothing new" (a second run of notebook 02 on a finished
checkpoint reads nothing, and says so instead of reporting a mismatch).

* ``require_input`` - the users topic holds messages (notebook 02, the live notebook);
* ``require_no_backlog`` - every message has been processed (the live notebook, so that
  its numbers are its own);
* ``describe_run`` - one stream run's counts and the balance rule (``stream.Counts``);
* ``table_check`` - Cassandra's row count against the batch log and the erasure register;
* ``user_to_forget`` - a stored user for the erasure demo (notebook 04);
* ``describe_profile`` - the storage profile, the table's columns and what the profile leaves out
  (notebook 04);
* ``describe_suppression`` - the published aggregates at a given k: how many groups are hidden
  and why, with one small group and the cell hidden with it (notebook 04);
* ``describe_retention`` - a retention run's lines (notebook 04).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from profilepipe import contract, kafka_client, stores
from profilepipe.config import Settings
from profilepipe.errors import NotReady

if TYPE_CHECKING:
    from profilepipe.pipeline.report import Counts

RUN_01 = "run notebook 01 (or `profilepipe produce`) first"
RUN_02 = "run notebook 02 (or `profilepipe stream --until-idle`) first"


def require_input(settings: Settings) -> int:
    """The number of messages in the users topic; ``NotReady`` when there are none."""
    total = sum(kafka_client.end_offsets(settings).values())
    if total == 0:
        raise NotReady(f"topic {settings.kafka_topic!r} is empty: {RUN_01}")
    return total


def processed_offsets(settings: Settings) -> dict[int, int]:
    """``{partition: next offset}`` of the users topic that the batch log records as done."""
    done: dict[int, int] = {}
    for batch in stores.connect(settings).mongo.read_batches():
        for name, (_lo, hi) in (batch.get("offsets") or {}).items():
            topic, _, partition = name.rpartition(":")
            if topic == settings.kafka_topic:
                done[int(partition)] = max(done.get(int(partition), 0), int(hi) + 1)
    return done


def backlog(settings: Settings) -> int:
    """Messages in the users topic that no finished batch has processed yet."""
    done = processed_offsets(settings)
    return sum(max(0, end - done.get(p, 0)) for p, end in kafka_client.end_offsets(settings).items())


def require_no_backlog(settings: Settings) -> None:
    """``NotReady`` when messages wait in the topic (they would be counted with ours)."""
    waiting = backlog(settings)
    if waiting:
        topic = settings.kafka_topic
        raise NotReady(f"{waiting} message(s) in topic {topic!r} are not processed yet: {RUN_02}")


def describe_run(result: Counts) -> list[str]:
    """The lines a notebook prints after ``stream.run``: counts and the balance check."""
    if result.read == 0:
        return [
            "nothing new was read: the checkpoint is already at the end of the topic "
            "(run notebook 01 to produce more users; its fresh_start empties everything first)"
        ]
    return [result.outcomes(), f"balanced: {result.balanced}"]


@dataclass(frozen=True)
class TableCheck:
    """Cassandra's rows against what the batch log says was stored, less forgotten users."""

    rows: int
    stored: int
    forgotten: int

    @property
    def match(self) -> bool:
        return self.rows == self.stored - self.forgotten

    def describe(self) -> list[str]:
        return [
            f"rows in Cassandra: {self.rows}; stored by the stream since the last reset: {self.stored}; "
            f"forgotten since: {self.forgotten}",
            f"match: {self.match}",
        ]


def table_check(settings: Settings) -> TableCheck:
    """Count the table, the batch log's ``stored`` and the erasure register, now."""
    stored = sum(int(b.get("stored", 0)) for b in stores.connect(settings).mongo.read_batches())
    return TableCheck(
        stores.connect(settings).cassandra.count_users(),
        stored,
        len(stores.connect(settings).cassandra.erased_keys()),
    )


def user_to_forget(settings: Settings) -> str:
    """A stored user's id (the smallest of a sample, so the choice is repeatable)."""
    ids = sorted(str(r["user_id"]) for r in stores.connect(settings).cassandra.read_users(limit=50))
    if not ids:
        raise NotReady(f"no stored user to forget: the table is empty; {RUN_02}")
    return ids[0]


def describe_profile(settings: Settings) -> list[str]:
    """The storage profile, the users table's columns as Cassandra has them, and what is left out."""
    have = stores.connect(settings).cassandra.table_columns()
    columns = [f.column for f in contract.STORED_FIELDS if f.column in have]
    full = contract.user_columns(contract.FULL)
    left_out = [c for c in full if c not in settings.user_columns]
    instead = [c for c in settings.user_columns if c not in full]
    lines = [
        f"storage profile: {settings.store_profile} ({Settings.env_name('store_profile')}; "
        "every field and why: docs/stored-fields.md)",
        f"the users table's {len(columns)} columns: {', '.join(columns)}",
    ]
    if left_out:
        lines.append(
            f"left out of the original row: {', '.join(left_out)}"
            + (f"; kept instead: {', '.join(instead)}" if instead else "")
        )
    return lines


def describe_suppression(raw: list[dict], k: int) -> list[str]:
    """The aggregates ``raw`` (``MongoStore.read_raw_aggregates``) as published at ``k``, in words.

    How many groups are shown, hidden below k and hidden with them (``analysis.disclosure``), and
    one example: a small group and a group hidden with it because a published total or margin
    minus the latter would give the small one away. Names groups, never a hidden value.
    """
    from profilepipe.analysis import disclosure

    docs = disclosure.protect(raw, k)
    why = {(d["dimension"], str(d["key"])): d["suppression"] for d in docs}
    below = sum(1 for w in why.values() if w == disclosure.BELOW_K)
    extra = sum(1 for w in why.values() if w == disclosure.COMPLEMENTARY)
    lines = [
        f"k = {k}: {len(why) - below - extra} groups published, {below} hidden below k, "
        f"{extra} more hidden because they would give a hidden one away"
    ]
    totals = {d["dimension"] for d in docs if d["dimension_count"] is not None}
    rels = disclosure.relations(why, totals)
    margins_first = sorted(rels, key=lambda rel: not any(sign < 0 for sign in rel.values()))
    for rel in margins_first:  # a published margin makes the plainest example
        margin = [c for c, sign in rel.items() if sign < 0]
        small = sorted(c for c in rel if why[c] == disclosure.BELOW_K)
        partner = sorted(c for c in rel if why[c] == disclosure.COMPLEMENTARY)
        if small and partner and (not margin or why[margin[0]] is None):
            (dim, key), (pdim, pkey) = small[0], partner[0]
            given = f"{margin[0][0]} {margin[0][1]!r}" if margin else f"the {dim} total"
            lines.append(f"  {dim} {key!r}: hidden, fewer than {k} users")
            lines.append(
                f"  {pdim} {pkey!r}: hidden with it: {given} is published, so {given} minus "
                "this group would give the small one away"
            )
            break
    return lines


def describe_retention(days: int, removed: int, before: int, after: int) -> list[str]:
    """The lines after ``erasure.retain``: the period, the rows removed, the table before and after."""
    return [
        f"retention period: {days} days (rows ingested more than {days} days ago are removed)",
        f"rows removed: {removed}; rows: {before} -> {after}",
    ]
