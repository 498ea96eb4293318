"""Real time, shown: the producer sends at a steady rate while the stream runs beside it.

``LiveRun(settings, rate, seconds).run(view)``:

1. makes ``rate * seconds`` users (``settings.source``; the generator seeded with ``seed``);
2. starts the streaming query with a short processing-time trigger (``trigger_seconds``),
   on the same checkpoint as ``profilepipe stream``, so it continues where that stopped
   (``stream.start`` warms the batch's job up first, so the first batch shown is like
   the ones that follow);
3. sends the users from a background thread at ``rate`` users per second;
4. polls the query's batch reports from this thread and hands each finished micro-batch to
   ``view`` (in a notebook: one printed line per batch and a figure redrawn in place);
5. stops the query once every user sent has been read (or ``timeout`` passed).

The caller checks first that nothing else waits in the topic
(``workshop.require_no_backlog``), so the counts are this run's own. ``LiveResult.describe``
prints only what does not depend on timing (how the stream cut the input into batches does).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from profilepipe import sources, stores
from profilepipe.config import Settings
from profilepipe.errors import QueryFailed
from profilepipe.pipeline import stream
from profilepipe.sources import producer


class View(Protocol):
    def batch(self, report: stream.BatchReport, reports: list[stream.BatchReport]) -> None: ...


@dataclass
class LiveResult:
    sent: int
    rate: float
    result: stream.Counts
    reports: list[stream.BatchReport] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.result.balanced

    def table(self) -> list[dict]:
        """One row per micro-batch: its records, outcomes, seconds and processing rate."""
        return [
            {
                "batch": r.batch_id,
                "read": r.read,
                "stored": r.stored,
                "filtered_minor": r.filtered_minor,
                "dead_letter": r.dead_letter,
                "seconds": r.seconds,
                "records_per_s": round(r.records_per_s, 1) if r.seconds else None,
            }
            for r in self.reports
        ]

    def describe(self) -> list[str]:
        return [
            f"sent {self.sent} users at {self.rate:g} users/s",
            self.result.outcomes(),
            f"balanced: {self.balanced}; every user sent was read: {self.result.read == self.sent}",
            f"more than one micro-batch: {len(self.reports) > 1}",
        ]


@dataclass
class LiveRun:
    settings: Settings
    rate: float = 50.0
    seconds: float = 60.0
    trigger_seconds: float | None = None  # None: the latency mode's (``config.STREAM_MODES``)
    seed: str = "live"
    timeout: float = 300.0  # after the producer finished, for the stream to catch up

    def users(self) -> list[dict]:
        count = max(1, int(self.rate * self.seconds))
        return sources.users_from(self.settings.source, count, seed=self.seed, settings=self.settings)

    def run(self, view: View | None = None, poll: float = 0.5) -> LiveResult:
        users = self.users()
        settings = self.settings.in_mode("latency").replace(trigger_seconds=self.trigger_seconds)
        handle = stream.start(settings)
        sent: dict = {}

        def send() -> None:
            sent["summary"] = producer.produce(users, settings, rate=self.rate, progress=False)

        thread = threading.Thread(target=send, name="profilepipe-live-producer", daemon=True)
        shown = 0
        try:
            thread.start()
            deadline = None
            while True:
                reports = list(handle.writer.reports)
                for report in reports[shown:]:
                    if view is not None:
                        view.batch(report, reports[: reports.index(report) + 1])
                shown = len(reports)
                if not handle.query.isActive:
                    raise QueryFailed(f"the streaming query stopped: {handle.query.exception()}")
                if not thread.is_alive():
                    deadline = deadline or time.monotonic() + self.timeout
                    if sum(r.read for r in reports) >= len(users) or time.monotonic() > deadline:
                        break
                time.sleep(poll)
        finally:
            thread.join(timeout=self.timeout)
            handle.stop()
        summary = sent.get("summary")
        delivered = summary.sent if summary is not None else 0
        reports = handle.writer.reports
        return LiveResult(sent=delivered, rate=self.rate, result=handle.result(), reports=reports)


class NotebookView:
    """One printed line per micro-batch and a two-panel figure redrawn in place.

    Left: records per second of each batch (Spark's processing rate, read / batch seconds).
    Right: users by nationality stored so far (the MongoDB aggregates the dashboard reads).
    """

    def __init__(self, settings: Settings, top: int = 12):
        from IPython.display import display
        from matplotlib.figure import Figure

        self.settings, self.top = settings, top
        self.figure = Figure(figsize=(11, 3.8), layout="constrained")
        self.rate_ax, self.nat_ax = self.figure.subplots(1, 2)
        self.started = time.time()
        self.handle = display(self.figure, display_id=True)

    def batch(self, report: stream.BatchReport, reports: list[stream.BatchReport]) -> None:
        print(f"{time.time() - self.started:5.1f}s  {report.describe()}", flush=True)
        self._draw(reports)
        self.handle.update(self.figure)

    def _draw(self, reports: list[stream.BatchReport]) -> None:
        ax = self.rate_ax
        ax.clear()
        ax.bar([str(r.batch_id) for r in reports], [r.records_per_s for r in reports])
        ax.set(title="Records per second, per micro-batch", xlabel="batch", ylabel="records/s")
        docs = [d for d in stores.read_aggregates(self.settings, "nationality") if not d.get("suppressed")]
        docs = sorted(docs, key=lambda d: (-d["count"], d["key"]))[: self.top]
        ax = self.nat_ax
        ax.clear()
        ax.barh([d["key"] for d in docs], [d["count"] for d in docs], color="tab:green")
        ax.invert_yaxis()
        total = sum(r.stored for r in reports)
        ax.set(title=f"Users by nationality (top {self.top}; +{total} this run)", xlabel="users stored")
