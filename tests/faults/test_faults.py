"""Faults on the real stack: the stream killed, Cassandra, Kafka and MongoDB restarted mid-run.

Each test streams generated users plus malformed messages through ``profilepipe stream``
(a separate process, as a user would run it), breaks something while batches are being
written, lets the pipeline recover, then compares the stores with numbers computed in
plain Python from what the input topic holds:

* Cassandra holds exactly the expected adults (none missing, none extra);
* every MongoDB aggregate (all dimensions, ``ingested_minute`` included) equals the
  count and age sum computed from the input: a replayed batch is not counted twice;
* every malformed message has exactly one dead letter;
* the batch log adds up: ``contract.BALANCE_RULE``.

They stop and start services, so they run after the other tests (``stack_lifecycle``).
They find their moment through the stream's stage events (``$PROFILEPIPE_STAGE_EVENTS``,
see ``pipeline.stage_events``): a kill holds the batch at the exact stage with the hold file,
then kills it there; nothing waits on the text of the stream's log.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from profilepipe import contract, kafka_client, stores
from profilepipe.config import Settings
from profilepipe.localstack import stack
from profilepipe.pipeline import batch_writer, stage_events
from profilepipe.pipeline.batch_writer import DEAD_LETTERS, MERGED, PARSED, ROWS
from profilepipe.pipeline.stream import QUERY_STARTED
from profilepipe.sources import generator, producer

pytestmark = pytest.mark.stack_lifecycle

AS_OF = "2026-06-01"
KEY = f"fault-test-{uuid.uuid4().hex}"  # a fresh key per run: the logs must not show it
USERS = 1000
MALFORMED = 24


# ----------------------------------------------------------------------------- helpers
class StreamProcess:
    """``profilepipe stream`` in its own process group; its output is kept line by line, and its
    stage events (``$PROFILEPIPE_STAGE_EVENTS``) go to a file of its own.

    ``hold=(stage, n)``: the stream stops at the ``n``-th event of ``stage`` (the hold file)
    until ``kill_at`` kills it there.
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if (event["stage"], event["occurrence"]) == (stage, occurrence) and event["held"] >= held:
                    return event
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"no {stage!r} event #{occurrence} from the stream; output:\n" + self.tail())

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
    yield
    while StreamProcess.started:
        run = StreamProcess.started.pop()
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait(timeout=30)


@pytest.fixture
def fault_settings(isolated):
    settings = isolated(
        "fault",
        pii_mode="hmac",
        hmac_key=KEY,
        as_of=AS_OF,
        max_offsets_per_trigger=150,
        trigger_seconds=1.0,
        stream_restarts=5,
    )
    yield settings
    stack.up(settings, echo=lambda _line: None)  # whatever a test stopped is back


def _input(seed: str) -> tuple[list[dict], list[dict]]:
    users = generator.generate_users(USERS, seed=seed, minor_share=0.15, as_of=dt.date.fromisoformat(AS_OF))
    return users, generator.malformed_messages(MALFORMED, seed=seed)


def _produce(settings: Settings, users, bad, rate: float | None = None) -> kafka_client.ProduceSummary:
    return producer.produce(
        users,
        settings,
        rate=rate,
        progress=False,
        extra_messages=[(m["key"], m["value"]) for m in bad],
    )


def _minute(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M")


def expected_state(settings: Settings, users: list[dict], bad: list[dict]) -> dict:
    """What the stores must hold, from the input topic's messages, in plain Python."""
    as_of = dt.date.fromisoformat(AS_OF)
    by_value = {producer.user_value(u): u for u in users}
    bad_values = {m["value"]: m for m in bad}
    adults, reasons, minutes = {}, Counter(), {}
    records = 0
    for msg in stores.read_to_end(settings, settings.kafka_topic, timeout_s=5):
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
        "aggregates": {k: (len(v), sum(v)) for k, v in groups.items()},
        "reasons": reasons,
    }


def assert_stores_match(settings: Settings, expected: dict) -> None:
    session = stores.cassandra_session(settings)
    ids = [
        str(r.user_id)
        for r in session.execute(
            f"SELECT user_id FROM {settings.cassandra_keyspace}.{settings.cassandra_table}", timeout=120
        )
    ]
    assert len(ids) == len(set(ids))
    missing, extra = expected["adults"] - set(ids), set(ids) - expected["adults"]
    assert not missing and not extra, (len(missing), len(extra))

    docs = {
        (d["dimension"], d["key"]): (d["count"], d["age_sum"]) for d in stores.read_raw_aggregates(settings)
    }
    wrong = {k: (docs.get(k), v) for k, v in expected["aggregates"].items() if docs.get(k) != v}
    assert not wrong, list(wrong.items())[:5]
    assert set(docs) == set(expected["aggregates"])

    letters = stores.read_dead_letters(settings, timeout_s=5)
    coords = Counter((d["source_partition"], d["source_offset"]) for d in letters)
    assert max(coords.values()) == 1, [c for c, n in coords.items() if n > 1]
    assert Counter(d["reason"] for d in letters) == expected["reasons"]

    batches = stores.read_batches(settings)
    assert all(contract.balanced(b) for b in batches)
    assert sum(b["read"] for b in batches) == expected["records"]
    assert sum(b["stored"] for b in batches) == len(expected["adults"])


# ----------------------------------------------------------------------------- the faults
def test_stream_killed_three_times_then_restarted_from_checkpoint(fault_settings, tmp_path):
    settings = fault_settings
    users, bad = _input("kill")
    sent = _produce(settings, users, bad)
    assert (sent.sent, sent.extra_sent, sent.failed) == (USERS, MALFORMED, 0)
    log = tmp_path / "stream.log"

    # three kills, each at another point of a batch; the 2nd occurrence, so every run
    # first finishes one batch; the next run replays the killed batch from its offsets
    kill_points = [
        PARSED,  # before rows go to Cassandra
        DEAD_LETTERS,  # letters sent, batch not yet committed
        MERGED,  # rows, letters and aggregates written, the batch not yet recorded
    ]
    replayed = []
    for point in kill_points:
        run = StreamProcess(settings, log, "--until-idle", hold=(point, 2))
        replayed.append(run.kill_at()["batch_id"])
    final = StreamProcess(settings, log, "--until-idle")
    assert final.finish() == 0, final.tail()
    # the run after a kill starts with the batch that was killed, read from the same offsets
    assert replayed == sorted(replayed) and len(set(replayed)) == 3
    text = log.read_text(encoding="utf-8")
    assert re.search(r"dead_letters done: 0 of \d+ sent", text), "no replayed batch skipped its letters"
    assert KEY not in text  # four runs of Spark and our own output: the HMAC key never shows

    assert_stores_match(settings, expected_state(settings, users, bad))


@pytest.mark.parametrize(
    ("service", "after", "down_for", "retried"),
    [
        ("cassandra", ROWS, 20, r"cassandra: .*: attempt \d+ failed .* retrying in"),
        ("mongo", MERGED, 8, None),  # pymongo may wait out a short outage by itself
    ],
)
def test_store_down_while_streaming(fault_settings, tmp_path, service, after, down_for, retried):
    """The store stops right after a batch wrote to it and comes back ``down_for`` s later."""
    settings = fault_settings
    users, bad = _input(service)
    assert _produce(settings, users, bad).failed == 0
    run = StreamProcess(settings, tmp_path / "stream.log", "--until-idle")
    run.wait_for_stage(after, occurrence=1)
    stack.down(settings, services=[service], echo=print)
    time.sleep(down_for)
    stack.up(settings, services=[service], echo=print)
    assert run.finish() == 0, run.tail()
    out = "\n".join(run.lines)
    # bounded retries with backoff, visible in the log, or a restart from the checkpoint
    if retried:
        assert re.search(retried, out) or "restarting from the checkpoint" in out, run.tail()
    assert_stores_match(settings, expected_state(settings, users, bad))


def test_kafka_restarted_while_producing_and_streaming(fault_settings, tmp_path):
    settings = fault_settings
    users, bad = _input("kafka")
    result: dict = {}

    def produce() -> None:  # ~10 s of input, so the broker restart lands in the middle
        try:
            result["summary"] = _produce(settings, users, bad, rate=100)
        except Exception as exc:  # reported below, with the stream's output
            result["error"] = exc

    producing = threading.Thread(target=produce)
    run = StreamProcess(settings, tmp_path / "stream.log")  # processing-time trigger, until Ctrl-C
    run.wait_for_stage(QUERY_STARTED, timeout=300)
    producing.start()
    time.sleep(4)
    stack.down(settings, services=["kafka"], echo=print)
    stack.up(settings, services=["kafka"], echo=print)
    producing.join(timeout=600)
    assert "summary" in result, (result.get("error"), run.tail())
    summary = result["summary"]
    print(summary.describe())
    # nothing dropped silently: every message is acknowledged or reported as undelivered
    assert summary.sent + summary.extra_sent + summary.failed == USERS + MALFORMED
    assert len(summary.undelivered) == summary.failed

    expected = expected_state(settings, users, bad)
    in_topic = expected["records"]
    assert in_topic >= USERS + MALFORMED - summary.failed
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        done = sum(b["read"] for b in stores.read_batches(settings))
        if done >= in_topic or run.proc.poll() is not None:
            break
        time.sleep(2)
    assert run.interrupt() == 0, run.tail()  # Ctrl-C: a clean stop after the batch in flight
    assert "stream: stopping after the batch in flight" in "\n".join(run.lines)
    assert_stores_match(settings, expected)
    undelivered = {v for _k, v in summary.undelivered}
    in_topic_values = {m.value for m in stores.read_to_end(settings, settings.kafka_topic, timeout_s=5)}
    sent_values = {producer.user_value(u) for u in users} | {m["value"] for m in bad}
    assert sent_values - in_topic_values <= undelivered  # anything missing was reported


def test_dead_letter_replay_is_exactly_once_without_spark(fault_settings):
    """The DLQ writer alone: a batch written twice (a replay) leaves each letter once."""
    settings = fault_settings
    letters = [
        (
            b"k%d" % i,
            json.dumps(
                {
                    "reason": "invalid_json",
                    "detail": "value is not valid JSON",
                    "source_topic": settings.kafka_topic,
                    "source_partition": 0,
                    "source_offset": i,
                }
            ),
        )
        for i in range(10)
    ]
    key = uuid.uuid4().hex
    assert stores.write_dead_letters(letters[:4], settings, key) == 4  # killed after 4 letters
    assert stores.write_dead_letters(letters, settings, key) == 6  # the replay sends the other 6
    assert stores.write_dead_letters(letters, settings, key) == 0  # and a second replay nothing
    got = stores.read_dead_letters(settings, timeout_s=5)
    assert sorted(d["source_offset"] for d in got) == list(range(10))


# ----------------------------------------------------------------------------- aggregates = the table
def _group_by_table(settings: Settings) -> dict[tuple[str, str], tuple[int, int]]:
    """The aggregates the table implies, computed here in plain Python from its rows (not the library's)."""
    session = stores.cassandra_session(settings)
    cql = f"SELECT * FROM {settings.cassandra_keyspace}.{settings.cassandra_table}"
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
                total = groups.setdefault((dim, key), [0, 0])
                total[0] += 1
                total[1] += r.age
    return {k: (c, a) for k, (c, a) in groups.items()}


def assert_aggregates_equal_the_table(settings: Settings) -> None:
    docs = {
        (d["dimension"], d["key"]): (d["count"], d["age_sum"]) for d in stores.read_raw_aggregates(settings)
    }
    table = _group_by_table(settings)
    wrong = {k: (docs.get(k), table.get(k)) for k in set(docs) | set(table) if docs.get(k) != table.get(k)}
    assert not wrong, sorted(wrong.items())[:8]
    assert {d for d, _ in table} == set(contract.DIMENSIONS)


def _changed(users: list[dict], n: int) -> list[dict]:
    """``n`` of ``users`` sent again with another country, the other gender and another birth date."""
    out = []
    for i, u in enumerate(users[:n]):
        v = json.loads(json.dumps(u))
        v["location"]["country"] = users[(i * 7 + 3) % len(users)]["location"]["country"]
        v["gender"] = "male" if u["gender"] == "female" else "female"
        year = int(u["dob"]["date"][:4]) + (-9 if i % 3 else 4)  # older, or younger (a few become minors)
        v["dob"]["date"] = f"{year:04d}{u['dob']['date'][4:]}"
        out.append(v)
    return out


def test_aggregates_equal_the_table_through_resends_a_replay_kills_and_erasures(fault_settings, tmp_path):
    """2,000 users; 500 of them again, changed, streamed with three kills at three steps of a
    batch; a replay of every offset with a new checkpoint; two erasures. After each phase every
    aggregate equals the GROUP BY of the table's rows, computed in plain Python."""
    settings = fault_settings
    log = tmp_path / "stream.log"
    users = generator.generate_users(2000, seed="exact", minor_share=0.1, as_of=dt.date.fromisoformat(AS_OF))
    assert producer.produce(users, settings, progress=False).sent == 2000
    big = settings.replace(max_offsets_per_trigger=1000)  # fewer batches where nothing is killed
    first = StreamProcess(big, log, "--until-idle")
    assert first.finish() == 0, first.tail()
    assert_aggregates_equal_the_table(settings)
    rows_before = stores.count_users(settings)

    again = _changed(users, 500)
    assert producer.produce(again, settings, progress=False).sent == 500  # 4 batches of <= 150
    kill_points = [
        batch_writer.AGGREGATES,  # the plan written, no row overwritten yet
        ROWS,  # rows overwritten, the plan not yet applied
        MERGED,  # the plan applied, the batch not yet recorded
    ]
    for point in kill_points:
        StreamProcess(settings, log, "--until-idle", hold=(point, 2)).kill_at()
    final = StreamProcess(settings, log, "--until-idle")
    assert final.finish() == 0, final.tail()
    assert stores.count_users(settings) == rows_before + sum(  # a changed minor became an adult
        1
        for u, v in zip(users, again, strict=False)
        if generator.expected_outcome(v, dt.date.fromisoformat(AS_OF)) == "stored"
        and generator.expected_outcome(u, dt.date.fromisoformat(AS_OF)) != "stored"
    )
    assert_aggregates_equal_the_table(settings)
    moved = stores.get_user(settings, again[1]["login"]["uuid"])
    assert (moved["country"], moved["gender"]) == (again[1]["location"]["country"], again[1]["gender"])

    replay = StreamProcess(big.replace(checkpoint_dir=str(tmp_path / "replay")), log, "--until-idle")
    assert replay.finish() == 0, replay.tail()
    assert_aggregates_equal_the_table(settings)

    kept = next(
        u for u in users[500:] if generator.expected_outcome(u, dt.date.fromisoformat(AS_OF)) == "stored"
    )
    for uid in (again[1]["login"]["uuid"], kept["login"]["uuid"]):  # one changed, one not
        assert stores.forget_user(settings, uid) is True
    assert_aggregates_equal_the_table(settings)
    assert all(contract.balanced(b) for b in stores.read_batches(settings))


def test_a_user_forgotten_while_its_batch_is_written_leaves_no_contribution(fault_settings, tmp_path):
    """A user sent again, changed, is forgotten while the stream holds that batch between its
    plan and its rows: the batch deletes the new row again and takes the user's contribution
    out of its plan; ``forget`` waits for that batch before it reads the row. The aggregates
    still equal the table (without both, the old row's contribution would be taken twice)."""
    settings = fault_settings
    log = tmp_path / "stream.log"
    users = generator.generate_users(400, seed="late", minor_share=0.0, as_of=dt.date.fromisoformat(AS_OF))
    assert producer.produce(users, settings, progress=False).sent == 400
    assert StreamProcess(settings, log, "--until-idle").finish() == 0
    again = _changed(users, 100)
    assert producer.produce(again, settings, progress=False).sent == 100  # one batch
    run = StreamProcess(settings, log, "--until-idle", hold=(batch_writer.AGGREGATES, 1))
    run.wait_for_stage(batch_writer.AGGREGATES, 1, held=True)  # planned; the old rows still there
    victim = again[1]["login"]["uuid"]
    forgot: dict = {}
    forgetting = threading.Thread(target=lambda: forgot.update(existed=stores.forget_user(settings, victim)))
    forgetting.start()
    time.sleep(2)  # the erasure is recorded; forget now waits for the batch being written
    assert forgetting.is_alive()
    run.hold_path.unlink()  # the batch goes on: it finds the erasure after its rows
    forgetting.join(timeout=120)
    assert forgot == {"existed": False}  # the batch had deleted the row again
    assert run.finish() == 0, run.tail()
    assert stores.get_user(settings, victim) is None and stores.count_users(settings) == 399
    assert_aggregates_equal_the_table(settings)
