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
* ``user_to_forget`` - a stored user for the erasure demo (notebook 04).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from profilepipe import kafka_client, stores
from profilepipe.config import Settings
from profilepipe.errors import NotReady

if TYPE_CHECKING:
    from profilepipe.pipeline.batch_writer import Counts

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
    for batch in stores.read_batches(settings):
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
    stored = sum(int(b.get("stored", 0)) for b in stores.read_batches(settings))
    return TableCheck(stores.count_users(settings), stored, len(stores.erased_keys(settings)))


def user_to_forget(settings: Settings) -> str:
    """A stored user's id (the smallest of a sample, so the choice is repeatable)."""
    ids = sorted(str(r["user_id"]) for r in stores.read_users(settings, limit=50))
    if not ids:
        raise NotReady(f"no stored user to forget: the table is empty; {RUN_02}")
    return ids[0]
