"""The stream as a user runs it, its input, and what the stores must hold afterwards.

Shared by the tiers that break something while ``profilepipe stream`` runs (``tests/faults``
on the single-node stack, ``tests/replicated`` on three Kafka brokers and three Cassandra
nodes). Each streams generated users plus malformed messages, breaks something, lets the
pipeline recover, then compares the stores with numbers computed in plain Python from what
the input topic holds:

* ``StreamProcess``: ``profilepipe stream`` in a process of its own, its stage events
  (``$PROFILEPIPE_STAGE_EVENTS``, see ``pipeline.stage_events``) in a file, held at an exact
  stage with the hold file; ``no_stream_left_behind`` (an autouse fixture to import) kills
  whatever a test left running;
* ``input_users``, ``produce_input`` and ``Producing`` (the same, in a thread, rate-limited or paced
  until the test releases it);
* ``expected_state``: the expected adults, aggregates, dead-letter reasons, from the topic;
* ``assert_stores_match``: Cassandra holds exactly the expected adults, every MongoDB
  aggregate equals the expected count and age sum (a replayed batch is not counted twice),
  every malformed message has exactly one dead letter, the batch log adds up
  (``contract.BALANCE_RULE``);
* ``assert_aggregates_equal_the_table``: every aggregate equals the GROUP BY of the table's
  rows, computed here in plain Python;
* ``wait_until_read`` and ``finished_at``: the batch log's progress and each batch's end.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from profilepipe import contract, kafka_client, stores
from profilepipe.config import Settings
from profilepipe.kafka_client import ProduceSummary
from profilepipe.pipeline import stage_events
from profilepipe.sources import generator, producer

AS_OF = "2026-06-01"
USERS = 1000
MALFORMED = 24


# ----------------------------------------------------------------------------- the stream
class StreamProcess:
    """``profilepipe stream`` in its own process group; its output is kept line by line, and its
    stage events (``$PROFILEPIPE_STAGE_EVENTS``) go to a file of its own.

    ``hold=(stage, n)``: the stream stops at the ``n``-th event of ``stage`` (the hold file)
    until ``kill_at`` kills it there, or the hold file is deleted (``release``).
    """

    started: list[StreamProcess] = []  # killed after each test, whatever happened in it
    numbers = itertools.count()

    def __init__(self, settings: Settings, log: Path, *args: str, hold: tuple[str, int] | None = None):
        env = dict(os.environ)
        for name in (
            "kafka_topic",
            "cassandra_table",
            "mongo_collection",
            "checkpoint_dir",
            "pii_mode",
            "hmac_key",
            "as_of",
            "max_offsets_per_trigger",
            "trigger_seconds",
            "stream_restarts",
            "sink_retry_seconds",
        ):
            env[Settings.env_name(name)] = str(getattr(settings, name))
        self.events_path = log.parent / f"stage-events-{next(StreamProcess.numbers)}.jsonl"
        self.hold_path = Path(f"{self.events_path}.hold")
        if hold:
            self.hold_path.write_text(f"{hold[0]} {hold[1]}", encoding="utf-8")
        env[stage_events.STAGE_EVENTS_ENV] = str(self.events_path)
        self.lines: list[str] = []
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "profilepipe.cli", "stream", "-v", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # the Spark JVM joins this group: killpg stops everything
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        StreamProcess.started.append(self)

    def _read(self) -> None:
        with self.log.open("a", encoding="utf-8") as out:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                out.write(line)
                out.flush()

    def events(self) -> list[dict]:
        """The stage events written so far (a last, half-written line is left for later)."""
        try:
            text = self.events_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]

    def wait_for_stage(self, stage: str, occurrence: int = 1, timeout: float = 300.0, held=False) -> dict:
        """The ``occurrence``-th event of ``stage``; fails if the process ends first."""
        return self.wait_for_event(
            lambda e: (e["stage"], e["occurrence"]) == (stage, occurrence) and e["held"] >= held,
            f"{stage!r} event #{occurrence}",
            timeout,
        )

    def wait_for_event(self, matches, what: str, timeout: float = 300.0) -> dict:
        """The first stage event for which ``matches(event)`` is true; fails if the process ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if matches(event):
                    return event
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"no {what} from the stream; output:\n" + self.tail())

    def kill_at(self, timeout: float = 600.0) -> dict:
        """SIGKILL the stream and its Spark JVM (no shutdown hook, no graceful stop) where it is
        held (``hold=``); returns that stage event."""
        stage, occurrence = self.hold_path.read_text(encoding="utf-8").split()
        event = self.wait_for_stage(stage, int(occurrence), timeout, held=True)
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        self.hold_path.unlink()
        return event

    def release(self) -> None:
        """Let a held stream go on (the writer polls the hold file)."""
        self.hold_path.unlink()

    def interrupt(self, timeout: float = 180.0) -> int:
        """Ctrl-C: the query stops after the batch in flight."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.finish(timeout)

    def finish(self, timeout: float = 900.0) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            pytest.fail("stream did not finish in time; output:\n" + self.tail())
        self._reader.join(timeout=10)
        return code

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.lines[-n:])


@pytest.fixture(autouse=True)
def no_stream_left_behind():
    """Kill every ``StreamProcess`` a test left running (import it into a test module or conftest)."""
    yield
    while StreamProcess.started:
        run = StreamProcess.started.pop()
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait(timeout=30)


# ----------------------------------------------------------------------------- the input
def input_users(seed: str, users: int = USERS, malformed: int = MALFORMED) -> tuple[list[dict], list[dict]]:
    """``users`` generated users (15% minors on ``AS_OF``) and ``malformed`` malformed messages."""
    made = generator.generate_users(users, seed=seed, minor_share=0.15, as_of=dt.date.fromisoformat(AS_OF))
    return made, generator.malformed_messages(malformed, seed=seed)


def produce_input(settings: Settings, users, bad, rate: float | None = None) -> ProduceSummary:
    """Send ``users`` and the malformed messages ``bad`` spread among them, at most ``rate`` a second."""
    return producer.produce(
        users,
        settings,
        rate=rate,
        progress=False,
        extra_messages=[(m["key"], m["value"]) for m in bad],
    )


class Producing:
    """``produce_input`` in a thread of its own: ``start()``, then ``summary()`` waits for it.

    ``paced=True``: the users go out at ``rate`` until ``release()``, then the rest at once (the
    malformed messages last), so the input lasts as long as the test needs it to, however slow
    the machine, and no longer.
    """

    def __init__(self, settings: Settings, users, bad, rate: float, paced: bool = False):
        self.result: dict = {}
        self.started_at: float | None = None  # time.time() of start() and of the last acknowledgement
        self.finished_at: float | None = None
        self.released = threading.Event()
        if paced:
            users, rate = self._paced(users, rate), None
        self.thread = threading.Thread(target=self._run, args=(settings, users, bad, rate), daemon=True)

    def _paced(self, users, rate: float):
        for user in users:
            yield user
            self.released.wait(1.0 / rate)

    def _run(self, settings: Settings, users, bad, rate: float | None) -> None:
        try:
            self.result["summary"] = produce_input(settings, users, bad, rate=rate)
        except Exception as exc:  # reported by summary(), with the stream's output
            self.result["error"] = exc
        finally:
            self.finished_at = time.time()

    def release(self) -> None:
        """Send the rest of a paced input now."""
        self.released.set()

    def start(self) -> Producing:
        self.started_at = time.time()
        self.thread.start()
        return self

    def running(self) -> bool:
        return self.thread.is_alive()

    def summary(self, run: StreamProcess | None = None, timeout: float = 600.0) -> ProduceSummary:
        self.thread.join(timeout=timeout)
        if "summary" not in self.result:
            pytest.fail(f"producing failed: {self.result.get('error')!r}\n" + (run.tail() if run else ""))
        return self.result["summary"]


# ----------------------------------------------------------------------------- what the stores must hold
def _minute(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M")


def expected_state(settings: Settings, users: list[dict], bad: list[dict]) -> dict:
    """What the stores must hold, from the input topic's messages, in plain Python."""
    as_of = dt.date.fromisoformat(AS_OF)
    by_value = {producer.user_value(u): u for u in users}
    bad_values = {m["value"]: m for m in bad}
    adults, reasons, minutes = {}, Counter(), {}
    records = 0
    for msg in kafka_client.read_to_end(settings, settings.kafka_topic, timeout_s=5):
        records += 1
        if msg.value in bad_values:
            reasons[bad_values[msg.value]["expected_reason"]] += 1
            continue
        user = by_value[msg.value]  # every other message is one of ours
        uid = user["login"]["uuid"]
        if generator.expected_outcome(user, as_of) == "stored":
            adults[uid] = user
            minutes[uid] = _minute(msg.timestamp)
    groups: dict[tuple[str, str], list[int]] = {}
    for uid, u in adults.items():
        age = contract.age_on(generator.dob_date(u), as_of)
        country, gender = u["location"]["country"], u["gender"]
        keys = {
            "nationality": u["nat"],
            "country": country,
            "gender": gender,
            "age_band": contract.age_band(age),
            "country_gender": f"{country}|{gender}",
            "nationality_gender": f"{u['nat']}|{gender}",
            "email_domain": u["email"].split("@")[1].lower(),
            "registered_year": u["registered"]["date"][:4],
            "ingested_minute": minutes[uid],
        }
        for dim, key in keys.items():
            groups.setdefault((dim, key), []).append(age)
    return {
        "records": records,
        "adults": set(adults),
        "aggregates": {k: (len(v), sum(v), sum(a * a for a in v)) for k, v in groups.items()},
        "reasons": reasons,
    }


def assert_stores_match(settings: Settings, expected: dict) -> None:
    session = stores.connect(settings).cassandra.session()
    ids = [
        str(r.user_id) for r in session.execute(f"SELECT user_id FROM {settings.users_table}", timeout=120)
    ]
    assert len(ids) == len(set(ids))
    missing, extra = expected["adults"] - set(ids), set(ids) - expected["adults"]
    assert not missing and not extra, (len(missing), len(extra))

    docs = {
        (d["dimension"], d["key"]): (d["count"], d["age_sum"], d["age_sq_sum"])
        for d in stores.connect(settings).mongo.read_raw_aggregates()
    }
    wrong = {k: (docs.get(k), v) for k, v in expected["aggregates"].items() if docs.get(k) != v}
    assert not wrong, list(wrong.items())[:5]
    assert set(docs) == set(expected["aggregates"])

    letters = stores.connect(settings).dead_letters.read(timeout_s=5)
    coords = Counter((d["source_partition"], d["source_offset"]) for d in letters)
    assert max(coords.values()) == 1, [c for c, n in coords.items() if n > 1]
    assert Counter(d["reason"] for d in letters) == expected["reasons"]

    batches = stores.connect(settings).mongo.read_batches()
    assert all(contract.balanced(b) for b in batches)
    assert sum(b["read"] for b in batches) == expected["records"]
    assert sum(b["stored"] for b in batches) == len(expected["adults"])
    # kills, replays and restarts lose no offset, and none is reported lost: every message of
    # the topic was covered by exactly one batch's plan, and read
    assert [b["batch_id"] for b in batches if b.get("lost") or b.get("lost_ranges")] == []
    topic_messages = sum(kafka_client.end_offsets(settings).values())
    assert sum(b["covered"] for b in batches) == sum(b["messages"] for b in batches) == topic_messages


def _group_by_table(settings: Settings) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The aggregates the table implies, computed here in plain Python from its rows (not the library's)."""
    session = stores.connect(settings).cassandra.session()
    cql = f"SELECT * FROM {settings.users_table}"
    groups: dict[tuple[str, str], list[int]] = {}
    for r in session.execute(cql, timeout=120):
        keys = {
            "nationality": r.nationality,
            "country": r.country,
            "gender": r.gender,
            "age_band": contract.age_band(r.age),
            "country_gender": f"{r.country}|{r.gender}" if r.country and r.gender else None,
            "nationality_gender": f"{r.nationality}|{r.gender}" if r.nationality and r.gender else None,
            "email_domain": r.email_domain,
            "registered_year": str(r.registered_at.year) if r.registered_at else None,
            "ingested_minute": r.ingested_at.strftime("%Y-%m-%dT%H:%M"),  # naive UTC from the driver
        }
        for dim, key in keys.items():
            if key is not None:
                total = groups.setdefault((dim, key), [0, 0, 0])
                total[0] += 1
                total[1] += r.age
                total[2] += r.age * r.age
    return {k: (c, a, q) for k, (c, a, q) in groups.items()}


def assert_aggregates_equal_the_table(settings: Settings) -> None:
    docs = {
        (d["dimension"], d["key"]): (d["count"], d["age_sum"], d["age_sq_sum"])
        for d in stores.connect(settings).mongo.read_raw_aggregates()
    }
    table = _group_by_table(settings)
    wrong = {k: (docs.get(k), table.get(k)) for k in set(docs) | set(table) if docs.get(k) != table.get(k)}
    assert not wrong, sorted(wrong.items())[:8]
    assert {d for d, _ in table} == set(contract.DIMENSIONS)


# ----------------------------------------------------------------------------- the batch log
def finished_at(batch: dict) -> float:
    """A batch-log document's ``finished_at`` (the driver's clock when it was written) as ``time.time()``."""
    when = batch["finished_at"]
    if when.tzinfo is None:  # a server that hands dates back naive: they are UTC
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def wait_until_read(settings: Settings, records: int, run: StreamProcess, timeout: float = 600.0) -> int:
    """Wait until the batch log has read ``records`` records (or the stream ends); returns how many it has."""
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = sum(b["read"] for b in stores.connect(settings).mongo.read_batches())
        if done >= records or run.proc.poll() is not None:
            break
        time.sleep(2)
    return done
