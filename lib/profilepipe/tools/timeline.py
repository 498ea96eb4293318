"""State, time and restarts, made visible (notebook 06).

Two small demonstrations need a few helpers that are not part of the pipeline:

* **Restart from the checkpoint.** ``wait_for_batches`` lets the pipeline's own query run a
  given number of micro-batches before the notebook stops it; ``checkpoint_files`` and
  ``read_offsets_file`` show what Spark wrote to the checkpoint folder (``offsets/N`` when
  batch N is planned, ``commits/N`` when it is done), and ``kafka_offsets`` the Kafka offsets
  one offsets file names, per partition; ``offsets_read`` turns two of those into messages read.
* **Event time, watermark and output modes.** ``signup_messages`` encodes designed sign-up
  events (``{user, nationality, event_time}``) for a topic of their own (``create_topic``,
  ``delete_topic``); ``settle`` makes a query's outcome deterministic after each step (every
  record processed, then the micro-batch without data that moves the watermark);
  ``progress_since`` sums what the query's progress reports say about a step (records,
  watermark, rows dropped as late); ``emitted`` and ``side_by_side`` put what the ``update``
  and the ``append`` sinks received in a step next to each other.

Nothing here writes to the pipeline's stores.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from profilepipe.config import Settings
from profilepipe.errors import QueryFailed
from profilepipe.pipeline.gaps import OffsetsFile, parse_offsets

EPOCH = "1970-01-01T00:00:00.000Z"  # the watermark a query reports before it has one


# --------------------------------------------------------------------------- checkpoint
def wait_for_batches(handle, count: int, timeout: float = 120.0, poll: float = 0.1) -> int:
    """Wait until ``handle`` (``stream.StreamHandle``) has written ``count`` batches; returns how many.

    ``QueryFailed`` if the query stops first, ``TimeoutError`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while len(handle.writer.reports) < count:
        if not handle.query.isActive:
            raise QueryFailed(f"the streaming query stopped: {handle.query.exception()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(handle.writer.reports)} of {count} batches after {timeout:.0f}s")
        time.sleep(poll)
    return len(handle.writer.reports)


def _batch_ids(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())


def checkpoint_files(checkpoint_dir: str | Path) -> dict[str, list[int]]:
    """``{"offsets": [batch ids], "commits": [batch ids]}`` of a query's checkpoint folder."""
    root = Path(checkpoint_dir)
    return {name: _batch_ids(root / name) for name in ("offsets", "commits")}


def checkpoint_entries(checkpoint_dir: str | Path) -> list[str]:
    """The top-level entries of a checkpoint folder, folders with a ``/`` (``state/`` only if stateful)."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    return sorted(
        p.name + "/" if p.is_dir() else p.name for p in root.iterdir() if not p.name.startswith(".")
    )


def read_offsets_file(checkpoint_dir: str | Path, batch_id: int) -> OffsetsFile:
    """``offsets/<batch_id>`` of a checkpoint folder, parsed."""
    return parse_offsets((Path(checkpoint_dir) / "offsets" / str(batch_id)).read_text())


def kafka_offsets(offsets: OffsetsFile, source: int = 0) -> dict[int, int]:
    """``{partition: next offset}`` of a Kafka source in an offsets file (all its topics together)."""
    found: dict[int, int] = {}
    for partitions in (offsets.sources[source] or {}).values():
        for partition, offset in partitions.items():
            found[int(partition)] = found.get(int(partition), 0) + int(offset)
    return dict(sorted(found.items()))


def offsets_read(end: dict[int, int], start: dict[int, int]) -> int:
    """Messages between two ``{partition: offset}`` maps (a partition missing from ``start``: 0)."""
    return sum(offset - start.get(partition, 0) for partition, offset in end.items())


# --------------------------------------------------------------------------- designed events
def signup_messages(events: Iterable[Sequence[str]], day: str = "2026-06-01") -> list[tuple[str, str]]:
    """``(key, JSON)`` messages of ``(user, nationality, "HH:MM")`` sign-ups on ``day`` (UTC)."""
    return [
        (user, json.dumps({"user": user, "nationality": nat, "event_time": f"{day}T{hhmm}:00Z"}))
        for user, nat, hhmm in events
    ]


def create_topic(settings: Settings, topic: str, partitions: int = 1) -> None:
    """Create ``topic`` empty (deleted first if it exists), with the topology's replication."""
    from kafka.admin import NewTopic

    from profilepipe.kafka_client import delete_topics
    from profilepipe_stack import clients

    delete_topics(settings, [topic])
    admin = clients.kafka_admin(settings)
    try:
        admin.create_topics([NewTopic(topic, partitions, settings.replication.factor)])
        admin.wait_for_topics([topic], timeout_ms=30000)
    finally:
        admin.close()


def delete_topic(settings: Settings, topic: str) -> None:
    """Delete ``topic`` if it exists."""
    from profilepipe.kafka_client import delete_topics

    delete_topics(settings, [topic])


# --------------------------------------------------------------------------- watermark and progress
def to_ms(instant: str) -> int:
    """Milliseconds since the epoch of a progress report's ISO instant (``...Z``)."""
    return int(dt.datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp() * 1000)


def hhmm(instant: str | None) -> str:
    """``12:04`` for a progress report's instant; ``none`` for no watermark yet (the epoch)."""
    if not instant or instant == EPOCH:
        return "none"
    return dt.datetime.fromisoformat(instant.replace("Z", "+00:00")).strftime("%H:%M")


def expected_watermark(progress: list[dict], delay_ms: int) -> int | None:
    """The watermark the reports lead to: the largest event time seen minus ``delay_ms``, never
    below a watermark already reported (it only moves forward); None before any event."""
    highest = [to_ms(p["eventTime"]["max"]) for p in progress if p.get("eventTime", {}).get("max")]
    if not highest:
        return None
    reported = [
        to_ms(p["eventTime"]["watermark"]) for p in progress if p.get("eventTime", {}).get("watermark")
    ]
    return max([max(highest) - delay_ms, *reported])


def settled(progress: list[dict], delay_ms: int) -> bool:
    """Whether a finished batch already ran with the watermark the events lead to."""
    want = expected_watermark(progress, delay_ms)
    if want is None:
        return True
    return any(to_ms(p["eventTime"]["watermark"]) >= want for p in progress if "watermark" in p["eventTime"])


def settle(
    query,
    delay_seconds: float,
    records: int = 0,
    after_batch: int = -1,
    timeout: float = 60.0,
    poll: float = 0.05,
) -> None:
    """Process everything available, then wait for the batch that moves the watermark.

    ``processAllAvailable`` returns once the data is processed; when those records moved the
    largest event time, Spark then runs one more micro-batch *without data* with the new
    watermark (that batch closes windows and drops state). Waiting for it makes what a sink
    holds after each step the same on every run. ``records``: how many records the batches
    after ``after_batch`` must have read first (what the step sent), so a progress report not
    yet posted cannot pass for a settled query.
    """
    query.processAllAvailable()
    deadline = time.monotonic() + timeout
    while True:
        progress = query.recentProgress
        if progress_since(progress, after_batch).records >= records and settled(
            progress, int(delay_seconds * 1000)
        ):
            return
        if not query.isActive:
            raise QueryFailed(f"the streaming query stopped: {query.exception()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the query did not settle within {timeout:.0f}s")
        time.sleep(poll)


def last_batch(query) -> int:
    """The id of the query's last finished micro-batch (-1 before the first)."""
    progress = query.lastProgress
    return -1 if progress is None else int(progress["batchId"])


@dataclass(frozen=True)
class StepProgress:
    """What a query's progress reports say about the batches of one step."""

    batches: int
    records: int
    watermark_before: str
    watermark_after: str
    dropped: int  # numRowsDroppedByWatermark, summed (rows reaching the aggregation: partial counts)

    def describe(self) -> str:
        return (
            f"records read: {self.records}; watermark {hhmm(self.watermark_before)} -> "
            f"{hhmm(self.watermark_after)}; rows dropped as late: {self.dropped}"
        )


def progress_since(progress: list[dict], after_batch: int) -> StepProgress:
    """The reports of the batches after ``after_batch``, summed (``query.recentProgress``)."""
    mine = [p for p in progress if int(p["batchId"]) > after_batch]
    before = [p for p in progress if int(p["batchId"]) <= after_batch]
    start = before[-1]["eventTime"].get("watermark", EPOCH) if before else EPOCH
    if mine:  # the first batch of the step ran with the watermark the previous step left
        start = mine[0]["eventTime"].get("watermark", start)
    end = mine[-1]["eventTime"].get("watermark", start) if mine else start
    dropped = sum(
        int(op.get("numRowsDroppedByWatermark", 0)) for p in mine for op in p.get("stateOperators", [])
    )
    records = sum(int(p["numInputRows"]) for p in mine)
    return StepProgress(len(mine), records, start, end, dropped)


# --------------------------------------------------------------------------- what the sinks got
def emitted(before: Iterable[tuple], after: Iterable[tuple]) -> list[tuple]:
    """The rows a sink received between two reads of it (a multiset difference), sorted."""
    return sorted((Counter(after) - Counter(before)).elements())


def side_by_side(update: Iterable[tuple], append: Iterable[tuple]) -> list[dict]:
    """One row per window: what the update sink and the append sink received for it.

    Rows are ``(window, signups, users)``; a sink that received nothing for a window shows ``-``.
    """
    cells: dict[str, dict[str, str]] = {}
    for mode, rows in (("update", update), ("append", append)):
        for window, signups, users in rows:
            cells.setdefault(window, {"update": "-", "append": "-"})[mode] = f"{signups} ({users})"
    return [{"window": w, **cells[w]} for w in sorted(cells)]


# --------------------------------------------------------------------------- the demo, step by step
@dataclass(frozen=True)
class StepResult:
    """One step of the windowed demo: the events sent, each query's progress, what each sink got."""

    events: list
    progress: dict  # mode -> StepProgress
    received: dict  # mode -> rows (window, signups, users) the sink received in this step

    def describe(self) -> list[str]:
        sent = ", ".join(f"{user} {hhmm_}" for user, _nat, hhmm_ in self.events)
        lines = [f"sent: {sent}"]
        described = {mode: p.describe() for mode, p in self.progress.items()}
        if len(set(described.values())) == 1:
            lines.append(
                next(iter(described.values()))
                + (" (both queries)" if len(described) == 2 else " (all queries)")
            )
        else:
            lines += [f"{mode}: {text}" for mode, text in described.items()]
        return lines

    def table(self) -> list[dict]:
        """What the update and the append sink received in this step, window by window."""
        return side_by_side(self.received.get("update", []), self.received.get("append", []))


@dataclass
class WindowDemo:
    """Designed sign-up events sent step by step to ``topic``, read by memory-sink ``queries``.

    ``queries``: ``{output mode: StreamingQuery}`` whose memory tables (named by the query)
    hold ``window``, ``signups`` and ``users``. ``step(events)`` sends the events, waits until
    every query has settled (``settle``) and returns what changed.
    """

    spark: object
    settings: Settings
    topic: str
    queries: dict
    delay_seconds: float
    timeout: float = 60.0

    def rows(self, mode: str) -> list[tuple]:
        """What the sink of ``mode`` holds now, sorted."""
        table = self.spark.table(self.queries[mode].name).select("window", "signups", "users")
        return sorted((r["window"], int(r["signups"]), r["users"]) for r in table.collect())

    def step(self, events: list) -> StepResult:
        from profilepipe import kafka_client
        from profilepipe.errors import ProducerError

        before = {mode: self.rows(mode) for mode in self.queries}
        marks = {mode: last_batch(q) for mode, q in self.queries.items()}
        summary = kafka_client.produce_raw(signup_messages(events), self.settings, topic=self.topic)
        if summary.failed:
            raise ProducerError(f"{summary.failed} event(s) not delivered: {summary.errors[:3]}")
        for mode, query in self.queries.items():
            settle(query, self.delay_seconds, len(events), marks[mode], self.timeout)
        return StepResult(
            events=list(events),
            progress={
                mode: progress_since(q.recentProgress, marks[mode]) for mode, q in self.queries.items()
            },
            received={mode: emitted(before[mode], self.rows(mode)) for mode in self.queries},
        )
