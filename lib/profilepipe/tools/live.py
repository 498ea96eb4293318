"""Real time, shown: the producer sends at a steady rate while the stream runs beside it.

``LiveRun(settings, rate, seconds).run(view)``:

1. makes ``rate * seconds`` users (``settings.source``; the generator seeded with ``seed``);
2. starts the streaming query with a short processing-time trigger (``trigger_seconds``),
   on the same checkpoint as ``profilepipe stream``, so it continues where that stopped
   (``stream.start`` warms the batch's job up first, so the first batch shown is like
   the ones that follow; a line is printed before the warm-up and when the query runs);
3. sends the users from a background thread at ``rate`` users per second, noting when
   each one was handed to the producer;
4. polls the query's batch reports from this thread and hands the rows so far (``BatchRate``:
   input rate, processing rate, backlog) to ``view`` each time a micro-batch finished (in a
   notebook: one printed line per batch and a figure redrawn in place);
5. stops the query once every user sent has been read (or ``timeout`` passed).

Keeping up (``BatchRate.keeps_up``, ``LiveResult.kept_up``): a batch keeps up when Spark
processed its records at least as fast as they arrived, that is when it took no longer than
the time in which its records arrived (so the next batch has no more to read). The run kept
up when that holds over its batches together while the producer was sending (one slow batch
only makes the next one a little larger; a stream that falls behind makes every batch larger
than the one before).

The caller checks first that nothing else waits in the topic
(``workshop.require_no_backlog``), so the counts are this run's own. ``LiveResult.describe``
prints only what does not depend on timing (how the stream cut the input into batches does);
``LiveResult.verdict`` and ``LiveResult.table`` are the timings.
"""

from __future__ import annotations

import bisect
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from profilepipe import sources, stores
from profilepipe.analysis import disclosure
from profilepipe.config import Settings
from profilepipe.errors import QueryFailed
from profilepipe.pipeline import stream
from profilepipe.sources import producer

WARM_UP_USERS = 1  # ``BatchWriter.warm_up``: data/samples/single_user.json, in memory


@dataclass(frozen=True)
class BatchRate:
    """One micro-batch's rates.

    ``input_per_s``: its records over the seconds in which they arrived (since the previous
    batch started; the first batch: since the producer started), what Spark reports as
    ``inputRowsPerSecond``. ``processing_per_s``: its records over the seconds the batch took
    (Spark's processing rate). ``waiting``: users handed to the producer but not read yet
    when the batch ended (the backlog; None when not known).
    """

    report: stream.BatchReport
    input_per_s: float
    processing_per_s: float
    waiting: int | None = None

    @property
    def keeps_up(self) -> bool:
        """Processed at least as fast as its records arrived (``processing_per_s >= input_per_s``)."""
        return self.processing_per_s >= self.input_per_s

    def line(self) -> str:
        """The batch's outcomes, then ``in 9.8/s, processed 11.2/s: keeps up``."""
        r = self.report
        verdict = "keeps up" if self.keeps_up else "falls behind"
        backlog = f", {self.waiting} waiting" if self.waiting is not None else ""
        return (
            f"batch {r.batch_id}: {r.outcomes()} in {r.seconds:.1f}s | "
            f"in {self.input_per_s:.1f}/s, processed {self.processing_per_s:.1f}/s{backlog}: {verdict}"
        )


def batch_rates(
    reports: list[stream.BatchReport], opened_at: float, sent_at: list[float] | None = None
) -> list[BatchRate]:
    """``BatchRate`` of each report (in order). ``opened_at``: ``time.time()`` when records began
    to arrive (the producer's start); ``sent_at``: when each user was handed to the producer."""
    rows, previous, read = [], opened_at, 0
    for r in reports:
        arrived = max(r.started_at - previous, 1e-3)
        previous = r.started_at
        read += r.read
        waiting = None
        if sent_at is not None:
            waiting = max(0, bisect.bisect_right(sent_at, r.finished_at) - read)
        processing = r.read / r.seconds if r.seconds else 0.0
        rows.append(BatchRate(r, input_per_s=r.read / arrived, processing_per_s=processing, waiting=waiting))
    return rows


class View(Protocol):
    def batch(self, rows: list[BatchRate]) -> None: ...


@dataclass
class LiveResult:
    sent: int
    rate: float
    result: stream.Counts
    reports: list[stream.BatchReport] = field(default_factory=list)
    opened_at: float = 0.0  # time.time() the producer started
    sent_at: list[float] | None = None  # time.time() each user was handed to the producer
    warm_up_seconds: float = 0.0  # Spark's start and warm-up, before the query ran

    @property
    def balanced(self) -> bool:
        return self.result.balanced

    def rates(self) -> list[BatchRate]:
        return batch_rates(self.reports, self.opened_at, self.sent_at)

    def _while_sending(self) -> list[BatchRate]:
        """The batches that read something and started while the producer was still sending
        (all of them if that is not known): a batch started after it stopped waited for
        records that no longer came, its input rate says nothing about the stream."""
        rows = [row for row in self.rates() if row.report.read]
        if self.sent_at:
            sending = [row for row in rows if row.report.started_at <= self.sent_at[-1]]
            rows = sending or rows
        return rows

    def _busy_and_arrived(self) -> tuple[int, float, float]:
        """Records, seconds the batches took, seconds in which their records arrived (``_while_sending``)."""
        rows = self._while_sending()
        read = sum(row.report.read for row in rows)
        busy = sum(row.report.seconds for row in rows)
        arrived = sum(row.report.read / row.input_per_s for row in rows if row.input_per_s)
        return read, busy, arrived

    @property
    def kept_up(self) -> bool:
        """Over the batches while the producer was sending, processed at least as fast as the
        records arrived: together they took no longer than the time in which their records arrived."""
        _read, busy, arrived = self._busy_and_arrived()
        return busy <= arrived

    def table(self) -> list[dict]:
        """One row per micro-batch: its records, outcomes, seconds, both rates and the backlog."""
        return [
            {
                "batch": row.report.batch_id,
                "read": row.report.read,
                "stored": row.report.stored,
                "filtered_minor": row.report.filtered_minor,
                "dead_letter": row.report.dead_letter,
                "seconds": round(row.report.seconds, 2),
                "input_per_s": round(row.input_per_s, 1),
                "processed_per_s": round(row.processing_per_s, 1),
                "keeps_up": row.keeps_up,
                "waiting_after": row.waiting,
            }
            for row in self.rates()
        ]

    def describe(self) -> list[str]:
        return [
            f"sent {self.sent} users at {self.rate:g} users/s",
            self.result.outcomes(),
            f"balanced: {self.balanced}; every user sent was read: {self.result.read == self.sent}",
            f"more than one micro-batch: {len(self.reports) > 1}",
        ]

    def verdict(self) -> str:
        """``kept up: True (input 10.0/s, processed 11.6/s; backlog when the producer stopped:
        12 records, read 1.8 s later; max batch 2.4 s)``: timings, they differ from run to run."""
        rows = [row for row in self.rates() if row.report.read]
        if not rows:
            return "kept up: nothing was read"
        read, busy, arrived = self._busy_and_arrived()
        parts = [f"input {read / arrived:.1f}/s, processed {read / busy:.1f}/s" if busy and arrived else ""]
        if self.sent_at:
            stopped = self.sent_at[-1]
            before = sum(r.read for r in self.reports if r.finished_at <= stopped)
            caught = max(r.finished_at for r in self.reports) - stopped
            parts.append(
                f"backlog when the producer stopped: {len(self.sent_at) - before} records, "
                f"read {max(caught, 0.0):.1f} s later"
            )
        parts.append(f"max batch {max(row.report.seconds for row in rows):.1f} s")
        return f"kept up: {self.kept_up} ({'; '.join(p for p in parts if p)})"


def _stamped(users: Iterable[dict], stamps: list[float]) -> Iterator[dict]:
    """``users``, noting ``time.time()`` as each one has been handed on (when the next is asked for)."""
    for user in users:
        yield user
        stamps.append(time.time())


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

    def run(
        self, view: View | None = None, poll: float = 0.5, say: Callable[[str], object] = print
    ) -> LiveResult:
        users = self.users()
        settings = self.settings.in_mode("latency").replace(trigger_seconds=self.trigger_seconds)
        plural = "user" if WARM_UP_USERS == 1 else "users"
        say(f"warming up Spark on {WARM_UP_USERS} in-memory {plural} (nothing stored) ...")
        began = time.monotonic()
        handle = stream.start(settings)
        warm_up = time.monotonic() - began
        say(
            f"query started after {warm_up:.1f} s (a batch every {settings.trigger_seconds:g} s at most); "
            f"sending {len(users)} users at {self.rate:g} users/s"
        )
        sent: dict = {}
        stamps: list[float] = []
        opened_at = time.time()

        def send() -> None:
            paced = _stamped(users, stamps)
            sent["summary"] = producer.produce(paced, settings, rate=self.rate, progress=False)

        thread = threading.Thread(target=send, name="profilepipe-live-producer", daemon=True)
        shown = 0
        try:
            thread.start()
            deadline = None
            while True:
                reports = list(handle.writer.reports)
                if view is not None and len(reports) > shown:
                    rows = batch_rates(reports, opened_at, list(stamps))
                    for n in range(shown, len(reports)):
                        view.batch(rows[: n + 1])
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
        return LiveResult(
            sent=delivered,
            rate=self.rate,
            result=handle.result(),
            reports=handle.writer.reports,
            opened_at=opened_at,
            sent_at=stamps,
            warm_up_seconds=warm_up,
        )


def png_image(figure, dpi: int = 80):
    """``figure`` (a matplotlib ``Figure``) as an ``IPython.display.Image`` of PNG bytes.

    A bare ``Figure`` has no PNG formatter unless pyplot registered one (its display is then
    the text ``<Figure size ...>``); PNG bytes show as an image in JupyterLab and in an
    executed notebook alike.
    """
    from IPython.display import Image

    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi)
    return Image(data=buf.getvalue(), format="png")


class NotebookView:
    """One printed line per micro-batch and a two-panel figure redrawn in place.

    Left: records per second of each batch: the input rate (records arriving) and Spark's
    processing rate, with the producer's target rate as a line. Right: users by nationality
    stored so far (the MongoDB aggregates the dashboard reads). The figure is sent as a PNG
    image (``png_image``), shown once and then updated in place (``display_id``). ``mongo``: the
    store the aggregates are read from (default ``stores.connect(settings).mongo``).
    """

    def __init__(
        self,
        settings: Settings,
        rate: float | None = None,
        top: int = 12,
        dpi: int = 80,
        display=None,
        mongo=None,
    ):
        from matplotlib.figure import Figure

        if display is None:
            from IPython.display import display
        self.settings, self.rate, self.top, self.dpi = settings, rate, top, dpi
        self.mongo = mongo or stores.connect(settings).mongo
        self.figure = Figure(figsize=(11, 3.8), layout="constrained")
        self.rate_ax, self.nat_ax = self.figure.subplots(1, 2)
        self.rate_ax.set(title="Waiting for the first micro-batch ...", xlabel="batch", ylabel="records/s")
        self.nat_ax.set_axis_off()
        self.started = time.time()
        self.handle = display(self.image(), display_id=True)

    def image(self):
        """The figure as it is now, as a PNG ``IPython.display.Image``."""
        return png_image(self.figure, self.dpi)

    def batch(self, rows: list[BatchRate]) -> None:
        print(f"{time.time() - self.started:5.1f}s  {rows[-1].line()}", flush=True)
        self._draw(rows)
        if self.handle is not None:
            self.handle.update(self.image())

    def _draw(self, rows: list[BatchRate]) -> None:
        ax = self.rate_ax
        ax.clear()
        ids = [row.report.batch_id for row in rows]
        ax.plot(ids, [row.input_per_s for row in rows], "o-", color="tab:blue", label="input (arriving)")
        ax.plot(
            ids, [row.processing_per_s for row in rows], "s-", color="tab:orange", label="processed by Spark"
        )
        behind = [row for row in rows if not row.keeps_up]
        if behind:
            ax.scatter(
                [row.report.batch_id for row in behind],
                [row.processing_per_s for row in behind],
                s=90,
                facecolors="none",
                edgecolors="tab:red",
                zorder=3,
                label="falls behind",
            )
        if self.rate:
            ax.axhline(self.rate, color="grey", linestyle="--", label=f"producer's target ({self.rate:g}/s)")
        top = max([self.rate or 0.0] + [max(row.input_per_s, row.processing_per_s) for row in rows])
        ax.set_ylim(0, top * 1.45 or 1.0)  # room above the lines for the legend
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set(title="Records per second, per micro-batch", xlabel="batch", ylabel="records/s")
        ax.legend(loc="upper left", ncols=2, fontsize="small")
        docs = [
            d
            for d in disclosure.read_aggregates(self.settings, "nationality", mongo=self.mongo)
            if not d.get("suppressed")
        ]
        docs = sorted(docs, key=lambda d: (-d["count"], d["key"]))[: self.top]
        ax = self.nat_ax
        ax.clear()
        ax.set_axis_on()
        ax.barh([d["key"] for d in docs], [d["count"] for d in docs], color="tab:green")
        ax.invert_yaxis()
        total = sum(row.report.stored for row in rows)
        ax.set(title=f"Users by nationality (top {self.top}; +{total} this run)", xlabel="users stored")
