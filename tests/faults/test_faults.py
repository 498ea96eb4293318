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
then kills it there; nothing waits on the text of the stream's log. The stream process, the
input and these comparisons are ``support.streaming``'s (``tests/replicated`` uses them too).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid

import pytest

from profilepipe import contract, kafka_client, stores
from profilepipe.pipeline.report import AGGREGATES, DEAD_LETTERS, MERGED, PARSED, ROWS
from profilepipe.pipeline.stream import QUERY_STARTED
from profilepipe.sources import generator, producer
from profilepipe.stores import erasure
from profilepipe_stack import stack

from support.streaming import (
    AS_OF,
    MALFORMED,
    USERS,
    Producing,
    StreamProcess,
    assert_aggregates_equal_the_table,
    assert_stores_match,
    expected_state,
    input_users,
    no_stream_left_behind,  # noqa: F401  (an autouse fixture)
    produce_input,
    wait_until_read,
)

pytestmark = pytest.mark.stack_lifecycle

KEY = f"fault-test-{uuid.uuid4().hex}"  # a fresh key per run: the logs must not show it


# ----------------------------------------------------------------------------- set-up
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


# ----------------------------------------------------------------------------- the faults
def test_stream_killed_three_times_then_restarted_from_checkpoint(fault_settings, tmp_path):
    settings = fault_settings
    users, bad = input_users("kill")
    sent = produce_input(settings, users, bad)
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
    users, bad = input_users(service)
    assert produce_input(settings, users, bad).failed == 0
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
    users, bad = input_users("kafka")
    producing = Producing(settings, users, bad, rate=100)  # ~10 s: the broker restart lands in the middle
    run = StreamProcess(settings, tmp_path / "stream.log")  # processing-time trigger, until Ctrl-C
    run.wait_for_stage(QUERY_STARTED, timeout=300)
    producing.start()
    time.sleep(4)
    stack.down(settings, services=["kafka"], echo=print)
    stack.up(settings, services=["kafka"], echo=print)
    summary = producing.summary(run)
    print(summary.describe())
    # nothing dropped silently: every message is acknowledged or reported as undelivered
    assert summary.sent + summary.extra_sent + summary.failed == USERS + MALFORMED
    assert len(summary.undelivered) == summary.failed

    expected = expected_state(settings, users, bad)
    in_topic = expected["records"]
    assert in_topic >= USERS + MALFORMED - summary.failed
    wait_until_read(settings, in_topic, run)
    assert run.interrupt() == 0, run.tail()  # Ctrl-C: a clean stop after the batch in flight
    assert "stream: stopping after the batch in flight" in "\n".join(run.lines)
    assert_stores_match(settings, expected)
    undelivered = {v for _k, v in summary.undelivered}
    in_topic_values = {m.value for m in kafka_client.read_to_end(settings, settings.kafka_topic, timeout_s=5)}
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
    dead_letters = stores.connect(settings).dead_letters
    assert dead_letters.write(letters[:4], key) == 4  # killed after 4 letters
    assert dead_letters.write(letters, key) == 6  # the replay sends the other 6
    assert dead_letters.write(letters, key) == 0  # and a second replay nothing
    got = dead_letters.read(timeout_s=5)
    assert sorted(d["source_offset"] for d in got) == list(range(10))


# ----------------------------------------------------------------------------- aggregates = the table
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
    rows_before = stores.connect(settings).cassandra.count_users()

    again = _changed(users, 500)
    assert producer.produce(again, settings, progress=False).sent == 500  # 4 batches of <= 150
    kill_points = [
        AGGREGATES,  # the plan written, no row overwritten yet
        ROWS,  # rows overwritten, the plan not yet applied
        MERGED,  # the plan applied, the batch not yet recorded
    ]
    for point in kill_points:
        StreamProcess(settings, log, "--until-idle", hold=(point, 2)).kill_at()
    final = StreamProcess(settings, log, "--until-idle")
    assert final.finish() == 0, final.tail()
    assert stores.connect(
        settings
    ).cassandra.count_users() == rows_before + sum(  # a changed minor became an adult
        1
        for u, v in zip(users, again, strict=False)
        if generator.expected_outcome(v, dt.date.fromisoformat(AS_OF)) == "stored"
        and generator.expected_outcome(u, dt.date.fromisoformat(AS_OF)) != "stored"
    )
    assert_aggregates_equal_the_table(settings)
    moved = stores.connect(settings).cassandra.get_user(again[1]["login"]["uuid"])
    assert (moved["country"], moved["gender"]) == (again[1]["location"]["country"], again[1]["gender"])

    replay = StreamProcess(big.replace(checkpoint_dir=str(tmp_path / "replay")), log, "--until-idle")
    assert replay.finish() == 0, replay.tail()
    assert_aggregates_equal_the_table(settings)

    kept = next(
        u for u in users[500:] if generator.expected_outcome(u, dt.date.fromisoformat(AS_OF)) == "stored"
    )
    for uid in (again[1]["login"]["uuid"], kept["login"]["uuid"]):  # one changed, one not
        assert erasure.forget_user(stores.connect(settings), uid) is True
    assert_aggregates_equal_the_table(settings)
    assert all(contract.balanced(b) for b in stores.connect(settings).mongo.read_batches())


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
    run = StreamProcess(settings, log, "--until-idle", hold=(AGGREGATES, 1))
    run.wait_for_stage(AGGREGATES, 1, held=True)  # planned; the old rows still there
    victim = again[1]["login"]["uuid"]
    forgot: dict = {}
    forgetting = threading.Thread(
        target=lambda: forgot.update(existed=erasure.forget_user(stores.connect(settings), victim))
    )
    forgetting.start()
    time.sleep(2)  # the erasure is recorded; forget now waits for the batch being written
    assert forgetting.is_alive()
    run.hold_path.unlink()  # the batch goes on: it finds the erasure after its rows
    forgetting.join(timeout=120)
    assert forgot == {"existed": False}  # the batch had deleted the row again
    assert run.finish() == 0, run.tail()
    assert (
        stores.connect(settings).cassandra.get_user(victim) is None
        and stores.connect(settings).cassandra.count_users() == 399
    )
    assert_aggregates_equal_the_table(settings)
