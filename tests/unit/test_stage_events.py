"""The stage-event file the fault tests wait on (``$PROFILEPIPE_STAGE_EVENTS``), without Spark."""

from __future__ import annotations

import json
import threading
import time

from profilepipe.pipeline import stage_events
from profilepipe.pipeline.report import STAGES, stage_line
from profilepipe.pipeline.stage_events import StageEventFile


def test_stage_names_are_defined_once_in_the_order_a_batch_runs():
    assert STAGES == ("offsets", "parse+hash", "aggregates", "cassandra", "dead_letters", "mongo", "recorded")
    assert stage_line("mongo", 4, "3 aggregate documents changed (0.1s)") == (
        "batch 4: mongo done: 3 aggregate documents changed (0.1s)"
    )


def test_events_are_json_lines_counted_per_stage(tmp_path):
    hook = StageEventFile(tmp_path / "events.jsonl")
    for batch in (0, 1):
        for stage in STAGES[:3]:
            hook(stage, batch, "x")
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(e["stage"], e["batch_id"], e["occurrence"]) for e in events][-3:] == [
        ("offsets", 1, 2),
        ("parse+hash", 1, 2),
        ("aggregates", 1, 2),
    ]
    assert not any(e["held"] for e in events)


def test_a_hold_file_stops_the_writer_at_the_nth_event_until_it_is_removed(tmp_path):
    path = tmp_path / "events.jsonl"
    hold = tmp_path / "events.jsonl.hold"
    hold.write_text("mongo 2")
    hook = StageEventFile(path)
    hook("mongo", 0, "")  # the first: not held
    done = threading.Event()
    thread = threading.Thread(target=lambda: (hook("mongo", 1, ""), done.set()))
    thread.start()
    time.sleep(0.3)
    assert not done.is_set()  # waiting at the second mongo event
    assert json.loads(path.read_text().splitlines()[-1])["held"] is True
    hold.unlink()
    thread.join(timeout=5)
    assert done.is_set()


def test_the_hook_is_off_unless_the_variable_names_a_file(monkeypatch, tmp_path):
    monkeypatch.delenv(stage_events.STAGE_EVENTS_ENV, raising=False)
    assert stage_events.stage_hook_from_env() is None
    monkeypatch.setenv(stage_events.STAGE_EVENTS_ENV, str(tmp_path / "e.jsonl"))
    assert stage_events.stage_hook_from_env().path == tmp_path / "e.jsonl"
