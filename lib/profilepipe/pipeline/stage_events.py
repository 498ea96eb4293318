"""The stage-event file: a stage hook that lets a test see, and hold, a running stream.

When ``$PROFILEPIPE_STAGE_EVENTS`` names a file, ``stream.start`` adds a ``StageEventFile``
on it to the writer's stage hook (``report.STAGES``), and ``stream.run`` sends it
``stream.QUERY_STARTED`` when a query has started. The fault tests (``tests/faults``) wait
on its lines and hold the stream at an exact step with its hold file, instead of matching
log text. Off (no hook at all) when the variable is not set.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

#: The environment variable naming a stage-event file.
STAGE_EVENTS_ENV = "PROFILEPIPE_STAGE_EVENTS"


class StageEventFile:
    """A stage hook that appends each event to a file as a JSON line, and can hold the batch.

    Line: ``{"stage", "batch_id", "occurrence", "detail", "held", "pid"}`` (``occurrence``:
    the how-many-th event of that stage in this process). If ``<path>.hold`` holds
    ``"<stage> <n>"``, the ``n``-th event of that stage is written with ``"held": true`` and
    the writer then waits (at most ``max_hold`` seconds) until the hold file is removed.
    """

    def __init__(self, path: str | os.PathLike, max_hold: float = 900.0):
        self.path = Path(path)
        self.hold = Path(f"{self.path}.hold")
        self.max_hold = max_hold
        self.seen: Counter = Counter()
        self.lock = threading.Lock()  # the batch and the applier write events from two threads

    def __call__(self, stage: str, batch_id: int | None, detail: str = "") -> None:
        with self.lock:
            self.seen[stage] += 1
            held = self._holds(stage, self.seen[stage])
            event = {"stage": stage, "batch_id": batch_id, "occurrence": self.seen[stage]}
            event.update(detail=detail, held=held, pid=os.getpid())
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(event) + "\n")
        deadline = time.monotonic() + self.max_hold
        while held and self.hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _holds(self, stage: str, occurrence: int) -> bool:
        try:
            want = self.hold.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return False
        return want == [stage, str(occurrence)]


def stage_hook_from_env() -> StageEventFile | None:
    """A ``StageEventFile`` on ``$PROFILEPIPE_STAGE_EVENTS``, or None when it is not set."""
    path = os.environ.get(STAGE_EVENTS_ENV)
    return StageEventFile(path) if path else None
