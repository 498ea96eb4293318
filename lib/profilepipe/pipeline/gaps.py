"""Kafka offsets the stream was meant to read but never did: found, counted and named.

Every record the stream *reads* ends in one of ``contract.OUTCOMES`` (the balance rule).
This module extends the books to the offsets it could not read. Spark plans each
micro-batch as a range of offsets per partition and writes the plan to the checkpoint
(``offsets/<batch id>``) before the batch runs; the batch's range starts where the one
before ended (``sources/0/0`` for the first). Our producer writes no transactions, so a
partition's offsets are consecutive and every planned offset is a message. Whatever part
of the plan the batch does not hold is lost:

- **the log's start moved past the stream** (``RETENTION``): the stream was stopped longer
  than the topic's ``retention.ms``, or records were deleted (``DeleteRecords``); with
  ``failOnDataLoss=false`` Spark skips to the first offset still there;
- **the offsets went backwards** (``RECREATED``): the planned end is below its start, which
  happens when the topic was deleted and created again; the checkpoint's offsets are then
  the old topic's (``profilepipe stream`` also compares the topic's id, ``TopicMarker``).

So, per batch: ``covered = messages + lost`` (``balanced``), where ``covered`` is the
planned offsets, ``messages`` the distinct offsets read. A replay of a batch after a
crash reads the same plan and the same messages: it is no gap. Nothing here needs Spark.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

Partition = tuple[str, int]  # (topic, partition)
Ranges = dict[Partition, tuple[int, int]]  # [start, end) per partition

RETENTION = "retention"
RECREATED = "recreated"
#: Why a gap is there, as the one line says it.
LIKELY_CAUSES = {
    RETENTION: "the log's start moved past the stream's position: retention.ms expired "
    "while the stream was stopped, or the records were deleted",
    RECREATED: "the topic was deleted and created again (its id changed, or its offsets went "
    "backwards): whatever the old topic held past these offsets is lost, uncounted",
}
MARKER = "profilepipe-topic.json"  # in the checkpoint: which topic (by id) its offsets are of


@dataclass(frozen=True)
class Gap:
    """Offsets ``[start, end)`` of one partition that the stream never read, and why."""

    topic: str
    partition: int
    start: int
    end: int
    cause: str = RETENTION

    @property
    def lost(self) -> int:
        """Messages lost (0 when not countable: the old topic of a ``RECREATED`` gap is gone)."""
        return self.end - self.start if self.cause == RETENTION else 0

    def where(self) -> str:
        if self.cause == RECREATED:
            return f"{self.topic}:{self.partition} from offset {self.start} of the old topic"
        return f"{self.topic}:{self.partition} offsets {self.start}-{self.end - 1}"

    def to_doc(self) -> dict:
        return {**asdict(self), "lost": self.lost}

    @classmethod
    def from_doc(cls, doc: Mapping) -> Gap:
        return cls(doc["topic"], int(doc["partition"]), int(doc["start"]), int(doc["end"]), doc["cause"])


# ------------------------------------------------------------------ Spark's checkpoint
@dataclass(frozen=True)
class OffsetsFile:
    """One ``offsets/N`` file: the format version, the batch's metadata and one offset map per source."""

    version: str
    metadata: dict
    sources: list

    @property
    def watermark_ms(self) -> int:
        return int(self.metadata.get("batchWatermarkMs", 0))


def parse_offsets(text: str) -> OffsetsFile:
    """The text of an ``offsets/N`` file: ``v1``, a metadata JSON line, then a JSON line per source."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("v"):
        raise ValueError("not a Structured Streaming offsets file (no version line)")
    metadata = json.loads(lines[1]) if len(lines) > 1 else {}
    sources = [None if line.strip() == "-" else json.loads(line) for line in lines[2:]]
    return OffsetsFile(version=lines[0].strip(), metadata=metadata, sources=sources)


def _initial(path: Path) -> dict:
    """The Kafka source's ``sources/0/0``: a zero byte, ``v1``, then the offsets it began at."""
    lines = [x for x in path.read_text(encoding="utf-8").lstrip("\x00").splitlines() if x.strip()]
    return json.loads(lines[-1])


def _kafka_offsets(doc: Mapping) -> Ranges | None:
    """``{(topic, partition): offset}`` of a Kafka source's offsets JSON, else None (another source)."""
    out = {}
    for topic, parts in doc.items():
        if not isinstance(parts, Mapping):
            return None
        for partition, offset in parts.items():
            if not (isinstance(offset, int) and str(partition).lstrip("-").isdigit()):
                return None
            out[(topic, int(partition))] = offset
    return out or None


def planned_offsets(checkpoint_dir: str | Path, batch_id: int) -> dict[Partition, int] | None:
    """The end offsets Spark planned for ``batch_id`` (``offsets/<id>``), or None when the
    checkpoint holds no such batch or the source is not Kafka; ``batch_id`` -1: where the
    query began (``sources/0/0``)."""
    root = Path(checkpoint_dir)
    try:
        if batch_id < 0:
            return _kafka_offsets(_initial(root / "sources" / "0" / "0"))
        sources = parse_offsets((root / "offsets" / str(batch_id)).read_text(encoding="utf-8")).sources
        return _kafka_offsets(sources[0]) if len(sources) == 1 and sources[0] else None
    except (OSError, ValueError, IndexError):
        return None


def planned_ranges(checkpoint_dir: str | Path, batch_id: int) -> Ranges | None:
    """``{(topic, partition): (start, end)}`` Spark planned for ``batch_id``, or None (unknown).

    A partition new in this batch starts at 0 (Spark reads a new partition from its start)."""
    end = planned_offsets(checkpoint_dir, batch_id)
    start = planned_offsets(checkpoint_dir, batch_id - 1)
    if end is None or start is None:
        return None
    return {tp: (start.get(tp, 0), hi) for tp, hi in end.items()}


def committed_offsets(checkpoint_dir: str | Path) -> dict[Partition, int] | None:
    """Where the stream goes on from: the planned end of its last committed batch
    (``commits/<id>``), the query's start if none is committed; None without a checkpoint."""
    commits = Path(checkpoint_dir) / "commits"
    ids = sorted(int(p.name) for p in commits.glob("*") if p.name.isdigit()) if commits.is_dir() else []
    return planned_offsets(checkpoint_dir, ids[-1] if ids else -1)


# ------------------------------------------------------------------ the arithmetic
def find(planned: Ranges, read: Mapping[Partition, Iterable[int]]) -> list[Gap]:
    """The gaps of one batch: each planned offset not among the offsets ``read`` (per
    partition), as maximal ranges; a partition whose end is below its start, whole."""
    gaps = []
    for (topic, partition), (start, end) in sorted(planned.items()):
        if end < start:
            gaps.append(Gap(topic, partition, start, end, RECREATED))
            continue
        got = sorted({o for o in read.get((topic, partition), ()) if start <= o < end})
        if len(got) == end - start:  # the usual case: all of it
            continue
        expected = start
        for offset in [*got, end]:
            if offset > expected:
                gaps.append(Gap(topic, partition, expected, offset, RETENTION))
            expected = offset + 1
    return gaps


def covered(planned: Ranges) -> int:
    """How many offsets a batch's plan covers (a partition gone backwards: none)."""
    return sum(max(end - start, 0) for start, end in planned.values())


def balanced(doc: Mapping) -> bool:
    """``covered = messages + lost`` for a batch-log document (documents without them: True)."""
    if "covered" not in doc:
        return True
    return int(doc["covered"]) == int(doc.get("messages", 0)) + int(doc.get("lost", 0))


def describe(gaps: Iterable[Gap]) -> str:
    """One line: how many messages were lost, where, and the likely cause."""
    gaps = list(gaps)
    lost = sum(g.lost for g in gaps)
    where = ", ".join(g.where() for g in gaps)
    causes = "; ".join(dict.fromkeys(LIKELY_CAUSES[g.cause] for g in gaps))
    head = f"{lost} messages lost before the stream read them" if lost else "the stream's positions are gone"
    return f"{head} ({where}): {causes}"


# ------------------------------------------------------------------ which topic a checkpoint reads
@dataclass(frozen=True)
class TopicMarker:
    """The Kafka topic (name and id) a checkpoint's offsets are of: ``MARKER`` in the checkpoint.

    ``recreated_from``: the id of the topic a recreated one replaced (``profilepipe stream
    --accept-loss``), which also makes this topic's batch keys differ from the old one's
    (``contract.batch_key``'s ``topic_id``)."""

    topic: str
    topic_id: str
    recreated_from: str = ""

    @property
    def key_id(self) -> str:
        """The id ``contract.batch_key`` takes: none for a topic's first life."""
        return self.topic_id if self.recreated_from else ""

    @classmethod
    def read(cls, checkpoint_dir: str | Path) -> TopicMarker | None:
        try:
            doc = json.loads((Path(checkpoint_dir) / MARKER).read_text(encoding="utf-8"))
            return cls(doc["topic"], doc["topic_id"], doc.get("recreated_from", ""))
        except (OSError, ValueError, KeyError):
            return None

    def write(self, checkpoint_dir: str | Path) -> None:
        path = Path(checkpoint_dir) / MARKER
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), sort_keys=True) + "\n", encoding="utf-8")


def recreated(
    marker: TopicMarker | None, topic_id: str, positions: Mapping[Partition, int] | None
) -> list[Gap]:
    """The gaps of a topic recreated since the checkpoint was written: one per partition the
    checkpoint holds a position for (the old topic's offsets, its unread messages uncountable),
    when the topic's id is not the marker's; else none."""
    if marker is None or not topic_id or marker.topic_id == topic_id or not positions:
        return []
    return [Gap(t, p, offset, 0, RECREATED) for (t, p), offset in sorted(positions.items())]
