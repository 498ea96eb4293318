"""Kafka lag against retention: what waits for the stream, how old it is, and what is already lost.

A message the stream has not read yet is safe only while Kafka keeps it: time-based retention
(the topic's ``retention.ms``, 7 days on this stack) deletes whole log segments once their
newest message is older than that, and ``DeleteRecords`` moves a partition's log start at once.
So, per partition of the users topic:

* **log start**: the first offset still in the log; **end**: the next offset to be written;
* **position**: the next offset the stream will read, from its checkpoint
  (``pipeline.gaps.committed_offsets``); without a checkpoint, where a new query starts:
  the log start (``startingOffsets=earliest``, the default) or the end (``latest``);
* **waiting** = end - max(position, log start): messages Kafka still holds for the stream;
* **lost** = max(0, log start - position): messages deleted before the stream read them (the
  stream reports what it could not read when it gets there: ``pipeline.gaps``);
* **oldest unread**: the timestamp of the message at max(position, log start), and its age;
* **margin** = retention - age: how long until the oldest unread message may be deleted (at the
  earliest: Kafka deletes a segment when its *newest* message is past retention). Negative: it
  is past retention already and may go at the next retention check.

:func:`report` does the arithmetic on plain data (no Kafka, no Spark, no clock);
:func:`read` gathers the facts (``kafka_client``, the checkpoint) and calls it.
``profilepipe lag``, notebook 00 and the dashboard show the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from profilepipe.config import Settings

NOT_STARTED = "the stream has not started"


def human(delta: dt.timedelta) -> str:
    """A duration in its two largest units: ``45 s``, ``3 min 07 s``, ``2 h 05 min``, ``6 d 21 h``."""
    seconds = int(abs(delta.total_seconds()))
    sign = "-" if delta.total_seconds() < 0 and seconds else ""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days} d" + (f" {hours} h" if hours else "")
    elif hours:
        text = f"{hours} h" + (f" {minutes:02d} min" if minutes else "")
    elif minutes:
        text = f"{minutes} min" + (f" {secs:02d} s" if secs else "")
    else:
        text = f"{secs} s"
    return sign + text


@dataclass(frozen=True)
class PartitionLag:
    """One partition's offsets, what waits in it, what was lost, and how old the oldest unread is."""

    partition: int
    log_start: int
    end: int
    position: int  # the next offset the stream reads
    waiting: int
    lost: int
    oldest_at: dt.datetime | None  # timestamp of the oldest unread message (None: none waits, or unread)
    age: dt.timedelta | None
    margin: dt.timedelta | None  # retention - age (None: nothing waits, no time limit, or age unknown)

    @property
    def past_end(self) -> bool:
        """The stream's position is beyond the end: the topic was deleted and created again."""
        return self.position > self.end


@dataclass(frozen=True)
class LagReport:
    """The lag of one topic at ``now``: per partition, totals and one line (:meth:`line`)."""

    topic: str
    started: bool  # the stream has a checkpoint
    retention_ms: int | None  # the topic's retention.ms: -1 no time limit, None unknown
    partitions: tuple[PartitionLag, ...]
    now: dt.datetime

    @property
    def waiting(self) -> int:
        return sum(p.waiting for p in self.partitions)

    @property
    def lost(self) -> int:
        return sum(p.lost for p in self.partitions)

    @property
    def oldest_at(self) -> dt.datetime | None:
        times = [p.oldest_at for p in self.partitions if p.oldest_at is not None]
        return min(times) if times else None

    @property
    def age(self) -> dt.timedelta | None:
        ages = [p.age for p in self.partitions if p.age is not None]
        return max(ages) if ages else None

    @property
    def margin(self) -> dt.timedelta | None:
        margins = [p.margin for p in self.partitions if p.margin is not None]
        return min(margins) if margins else None

    @property
    def retention(self) -> dt.timedelta | None:
        """The time limit (None: none, or unknown)."""
        return _retention(self.retention_ms)

    def retention_text(self) -> str:
        if self.retention_ms is None:
            return "retention unknown"
        return "no retention limit" if self.retention is None else f"retention {human(self.retention)}"

    def line(self) -> str:
        """E.g. ``topic users: 1,234 messages wait (oldest 2 h 05 min old, retention 7 d: may be
        deleted in 6 d 21 h); 0 already lost``."""
        head = f"topic {self.topic}: " + ("" if self.started else f"{NOT_STARTED}; ")
        if not self.partitions:
            return f"{head}no partition"
        if self.waiting:
            age = "age unknown" if self.age is None else f"{human(self.age)} old"
            when = ""
            if self.margin is not None:
                past = self.margin <= dt.timedelta(0)
                when = (
                    f": past it by {human(-self.margin)}, may be deleted at any time"
                    if past
                    else f": may be deleted in {human(self.margin)}"
                )
            head += f"{self.waiting:,} messages wait (oldest {age}, {self.retention_text()}{when})"
        else:
            head += f"nothing waits ({self.retention_text()})"
        text = f"{head}; {self.lost:,} already lost"
        if self.lost:
            where = ", ".join(f"partition {p.partition}: {p.lost:,}" for p in self.partitions if p.lost)
            text += f" before the stream read them ({where})"
        past_end = [str(p.partition) for p in self.partitions if p.past_end]
        if past_end:
            text += (
                f"; the checkpoint is past the end of partition {', '.join(past_end)} "
                "(was the topic deleted and created again?)"
            )
        return text

    def rows(self) -> list[dict]:
        """One dict per partition, for a table (``pandas.DataFrame(report.rows())``)."""
        return [
            {
                "partition": p.partition,
                "log start": p.log_start,
                "end": p.end,
                "position": p.position,
                "waiting": p.waiting,
                "already lost": p.lost,
                "oldest unread at": p.oldest_at.strftime("%Y-%m-%d %H:%M:%S UTC") if p.oldest_at else "-",
                "age": human(p.age) if p.age is not None else "-",
                "margin": human(p.margin) if p.margin is not None else "-",
            }
            for p in self.partitions
        ]

    def table(self) -> str:
        """The rows as fixed-width text, for a terminal."""
        rows = self.rows()
        if not rows:
            return ""
        names = list(rows[0])
        cells = [[str(r[n]) for n in names] for r in rows]
        widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
        lines = ["  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        return "\n".join(lines)


def report(
    topic: str,
    offsets: Mapping[int, tuple[int, int]],
    positions: Mapping[int, int] | None,
    oldest_ms: Mapping[int, int],
    retention_ms: int | None,
    now: dt.datetime,
    starting_offsets: str = "earliest",
) -> LagReport:
    """The lag of ``topic`` at ``now``, from plain facts. Pure: no Kafka, no Spark, no clock.

    ``offsets``: ``{partition: (log start, end)}``; ``positions``: ``{partition: next offset the
    stream reads}`` from its checkpoint, None without one (then a new query's start:
    ``starting_offsets``); a partition the checkpoint does not name is read from offset 0, as
    Spark reads a partition added since. ``oldest_ms``: ``{partition: timestamp (ms) of the
    message at max(position, log start)}``, where one was read. ``retention_ms``: the topic's
    (-1: no time limit; None: unknown, the broker did not say).
    """
    retention = _retention(retention_ms)
    parts = []
    for partition, (log_start, end) in sorted(offsets.items()):
        if positions is None:
            position = end if starting_offsets == "latest" else log_start
        else:
            position = positions.get(partition, 0)
        waiting = max(0, end - max(position, log_start))
        oldest = oldest_ms.get(partition) if waiting else None
        oldest_at = dt.datetime.fromtimestamp(oldest / 1000, dt.UTC) if oldest is not None else None
        age = now - oldest_at if oldest_at is not None else None
        margin = retention - age if retention is not None and age is not None else None
        lost = max(0, log_start - position)
        parts.append(PartitionLag(partition, log_start, end, position, waiting, lost, oldest_at, age, margin))
    return LagReport(topic, positions is not None, retention_ms, tuple(parts), now)


def _retention(retention_ms: int | None) -> dt.timedelta | None:
    return dt.timedelta(milliseconds=retention_ms) if retention_ms is not None and retention_ms >= 0 else None


def read(settings: Settings, now: dt.datetime | None = None, timeout_s: float = 5.0) -> LagReport:
    """The lag of ``settings.kafka_topic`` now: Kafka's offsets, timestamps and retention, and the
    stream's checkpoint (``settings.checkpoint_dir``). ``NotReady`` when Kafka does not answer
    or the topic does not exist."""
    from kafka.errors import KafkaError

    from profilepipe import kafka_client
    from profilepipe.errors import NotReady
    from profilepipe.pipeline import gaps

    topic = settings.kafka_topic
    now = now or dt.datetime.now(dt.UTC)
    try:
        offsets = kafka_client.log_offsets(settings, topic, timeout_s)
        if not offsets:
            raise NotReady(f"topic {topic!r} does not exist: `profilepipe stack up` creates it")
        committed = gaps.committed_offsets(settings.checkpoint_dir)
        positions = None if committed is None else {p: o for (t, p), o in committed.items() if t == topic}
        probe = report(topic, offsets, positions, {}, None, now, settings.starting_offsets)
        unread = {p.partition: max(p.position, p.log_start) for p in probe.partitions if p.waiting}
        oldest = kafka_client.timestamps_at(settings, topic, unread, timeout_s)
        try:
            retention = kafka_client.retention_ms(settings, topic, timeout_s)
        except KafkaError:  # the offsets were read: the report says "retention unknown"
            retention = None
    except KafkaError as exc:
        raise NotReady(
            f"Kafka at {settings.kafka_bootstrap} does not answer ({type(exc).__name__}): "
            "start the stack first (`profilepipe stack up`, or `make up`)"
        ) from exc
    return report(topic, offsets, positions, oldest, retention, now, settings.starting_offsets)
