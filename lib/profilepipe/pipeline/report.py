"""What a batch reports, without Spark: its steps (``STAGES``), their lines, and its ``Counts``.

``batch_writer`` fills these in; ``stream``, the CLI, the notebooks' helpers and the dashboard
print them. Nothing here imports pyspark, so the unit tier reads them without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from profilepipe import contract
from profilepipe.pipeline import gaps

#: The steps of a batch, in the order they finish (``dead_letters`` only when there are some;
#: ``mongo`` and ``recorded`` are the applier's).
OFFSETS, PARSED, AGGREGATES, ROWS, DEAD_LETTERS, MERGED, RECORDED = STAGES = (
    *("offsets", "parse+hash", "aggregates", "cassandra", "dead_letters", "mongo", "recorded"),
)
StageHook = Callable[[str, "int | None", str], None]  # (stage, batch_id, detail)


@dataclass(kw_only=True)
class Counts:
    """What became of the records read by one batch or more: each record ends in exactly one
    of ``contract.OUTCOMES`` (``balanced``: ``contract.BALANCE_RULE``).

    A ``BatchReport`` is one batch's; ``Counts.total`` adds up batches (a stream's result).
    ``outcomes`` and ``describe`` are how every caller prints them.
    """

    read: int = 0
    stored: int = 0
    filtered_minor: int = 0
    erased: int = 0  # users in the erasure register (``profilepipe forget``), not stored
    dead_letter: int = 0
    seconds: float = 0.0
    batches: int = 1
    lost: int = 0  # offsets planned but gone from Kafka before they were read (``gaps``): not records

    @property
    def balanced(self) -> bool:
        """``contract.BALANCE_RULE`` holds."""
        return contract.balanced(self)

    @property
    def records_per_s(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def outcomes(self) -> str:
        """``read=N stored=N filtered_minor=N erased=N dead_letter=N`` (no timing in it)."""
        c = contract.counts_of(self)
        return " ".join(f"{name}={c[name]}" for name in ("read", *contract.OUTCOMES))

    def describe(self) -> str:
        """``<what> <outcomes> in <seconds>s (<rate> records/s)``: ``batches=N`` or ``batch <id>:``."""
        rate = f"{self.records_per_s:,.0f} records/s"
        lost = f" LOST={self.lost}" if self.lost else ""
        return f"{self._what()} {self.outcomes()}{lost} in {self.seconds:.1f}s ({rate})"

    def _what(self) -> str:
        return f"batches={self.batches}"

    @classmethod
    def total(cls, parts: Iterable[Counts], seconds: float) -> Counts:
        """The sum of ``parts`` (batches), over ``seconds``."""
        parts = list(parts)
        sums = {name: sum(getattr(p, name) for p in parts) for name in ("read", *contract.OUTCOMES, "lost")}
        return cls(**sums, seconds=seconds, batches=len(parts))


@dataclass(kw_only=True)
class BatchReport(Counts):
    """One batch's ``Counts``, its key and its timings."""

    batch_id: int
    batch_key: str = ""
    started_at: float = 0.0  # time.time() when the batch began / ended (for end-to-end rates)
    finished_at: float = 0.0
    stages: dict = field(default_factory=dict)  # seconds per step: offsets, counts, cassandra, ...
    dead_letter_reasons: dict = field(default_factory=dict)  # reason -> dead letters of this batch
    jobs: int | None = None  # Spark jobs this batch ran (``JobCounter``; None: not countable)
    lost_ranges: list[gaps.Gap] = field(default_factory=list)  # where ``lost`` was, and why

    def _what(self) -> str:
        return f"batch {self.batch_id}:" if self.batch_id >= 0 else "before the first batch:"

    def describe(self) -> str:
        """``Counts.describe``, and the line of ``gaps.describe`` when the batch met a gap."""
        line = super().describe()
        return f"{line}\n  LOST: {gaps.describe(self.lost_ranges)}" if self.lost_ranges else line


def stage_line(stage: str, batch_id: int | None, detail: str) -> str:
    """The line ``profilepipe stream -v`` prints for a stage event."""
    if stage == OFFSETS:
        return f"batch {batch_id}: offsets {detail}"
    if stage == RECORDED:
        return f"batch {batch_id}: recorded in the batch log; Spark commits the offsets next"
    return f"batch {batch_id}: {stage} done: {detail}"
