"""Node loss on the replicated topology: a Kafka leader or a Cassandra node gone while streaming.

Each test produces 1,000 users plus 24 malformed messages, the users paced (so the stream,
``profilepipe stream`` in a process of its own on the Spark standalone cluster, runs many
small batches while they arrive) until the node is away, the rest then at once, however
long the machine took to get there; it takes a node away in the middle of it, and checks:

* nothing waited for the node: the stream read every input record while the node was down
  (``wait_until_read`` before the node is started again), and the batches that finished
  while it was down (the batch log's ``finished_at``) include the ones the fault could have
  stopped: the partition the killed broker led, the batch held when the Cassandra node was
  killed, at least one batch with rows in each node's window of a rolling restart;
* no query failed (no restart from the checkpoint): three copies, two needed, is enough;
* every record was read exactly once (stored, filtered, erased or dead-lettered: the batch
  log adds up, ``contract.BALANCE_RULE``), the table holds exactly the expected adults, the
  aggregates equal the expected counts and the table's GROUP BY, each dead letter exists once
  (``support.streaming``, shared with ``tests/faults``);
* the node comes back: the killed broker rejoins every partition's in-sync replicas, a read
  at consistency ALL succeeds again (all three Cassandra replicas answer).

They find their moments through the stream's stage events and the batch log, not its output.
"""

from __future__ import annotations

import re
import time

import pytest

from profilepipe import stores
from profilepipe.config import Settings
from profilepipe.pipeline.report import AGGREGATES, ROWS
from profilepipe.pipeline.stream import QUERY_STARTED
from profilepipe_stack import clients, stack

from support.streaming import (
    MALFORMED,
    USERS,
    Producing,
    StreamProcess,
    assert_aggregates_equal_the_table,
    assert_stores_match,
    expected_state,
    finished_at,
    input_users,
    wait_until_read,
)

pytestmark = pytest.mark.stack_lifecycle

TOTAL = USERS + MALFORMED
RATE = 10.0  # users a second until the node is gone (at most ~100 s), then the rest at once
ROLLING_RATE = 4.0  # users a second until the third node is back (at most ~250 s), then the rest at once
COPIES = 3
CAUGHT_UP = 180.0  # seconds the stream may take to read the rest once the producer is done
RESTARTED = "restarting from the checkpoint"


# ----------------------------------------------------------------------------- helpers
def start_stream(settings: Settings, tmp_path, hold: tuple[str, int] | None = None) -> StreamProcess:
    """``profilepipe stream --mode latency`` (one task per Kafka partition), until Ctrl-C; started."""
    run = StreamProcess(settings, tmp_path / "stream.log", "--mode", "latency", hold=hold)
    run.wait_for_stage(QUERY_STARTED, timeout=300)
    return run


def kafka_partitions(settings: Settings) -> dict[int, dict]:
    """The users topic's partitions by index: ``leader_id``, ``replica_nodes``, ``isr_nodes``."""
    admin = clients.kafka_admin(settings)
    try:
        (topic,) = admin.describe_topics([settings.kafka_topic])
    finally:
        admin.close()
    assert topic["error_code"] == 0, topic
    return {p["partition_index"]: p for p in topic["partitions"]}


def assert_three_copies(settings: Settings) -> None:
    """The topic's partitions have three replicas, all in sync; the keyspace keeps three copies,
    read and written at LOCAL_QUORUM (two of them): one node may go."""
    parts = kafka_partitions(settings)
    assert len(parts) == settings.kafka_partitions
    for p in parts.values():
        assert len(p["replica_nodes"]) == len(p["isr_nodes"]) == COPIES, p
    keyspace = (
        stores.connect(settings).cassandra.session().cluster.metadata.keyspaces[settings.cassandra_keyspace]
    )
    assert sum(keyspace.replication_strategy.dc_replication_factors.values()) == COPIES
    assert settings.cassandra_consistency == "LOCAL_QUORUM"


def wait_for_isr(settings: Settings, broker: int, timeout: float = 120.0) -> float:
    """Seconds until ``broker`` is in sync again on every partition of the users topic."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        parts = kafka_partitions(settings)
        if all(broker in p["isr_nodes"] for p in parts.values()):
            return time.monotonic() - began
        time.sleep(1)
    pytest.fail(f"broker {broker} not back in sync within {timeout:.0f}s: {parts}")


def wait_for_all_replicas(settings: Settings, timeout: float = 120.0) -> float:
    """Seconds until reads at consistency ALL succeed (every Cassandra replica answers), three in a row."""
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement

    cql = f"SELECT user_id FROM {settings.users_table} LIMIT 1"
    query = SimpleStatement(cql, consistency_level=ConsistencyLevel.ALL)
    session = stores.connect(settings).cassandra.session()
    began, error = time.monotonic(), None
    while time.monotonic() - began < timeout:
        try:
            for _ in range(3):
                session.execute(query, timeout=10)
            return time.monotonic() - began
        except Exception as exc:  # Unavailable / timeouts while the node rejoins
            error = exc
            time.sleep(1)
    pytest.fail(f"reads at ALL still fail after {timeout:.0f}s: {error!r}")


def wait_for_batches(
    settings: Settings, run: StreamProcess, after: float, n: int = 1, timeout: float = 90.0, what: str = ""
) -> list[dict]:
    """The first ``n`` batches with stored rows that finished after ``after`` (``time.time()``)."""
    deadline = time.monotonic() + timeout
    done: list[dict] = []
    while time.monotonic() < deadline and run.proc.poll() is None:
        done = [
            b
            for b in stores.connect(settings).mongo.read_batches()
            if finished_at(b) > after and b["stored"] > 0
        ]
        if len(done) >= n:
            return done[:n]
        time.sleep(0.5)
    pytest.fail(f"{len(done)} of {n} batches with rows finished {what} within {timeout:.0f}s:\n" + run.tail())


def finished_between(batches: list[dict], start: float, end: float) -> list[dict]:
    return [b for b in batches if start < finished_at(b) < end]


def read_everything_while_down(settings: Settings, run: StreamProcess, node: str) -> float:
    """Wait until the stream has read every input record, the node still down; returns when."""
    read = wait_until_read(settings, TOTAL, run, timeout=CAUGHT_UP)
    assert stack.process(settings, node) is None  # still down: nothing above waited for it
    assert read == TOTAL, f"the stream read {read} of {TOTAL} records with {node} down:\n" + run.tail()
    return time.time()


def stop_stream(run: StreamProcess) -> None:
    """Ctrl-C; the query never failed (no restart from the checkpoint)."""
    assert run.interrupt() == 0, run.tail()
    out = "\n".join(run.lines)
    assert RESTARTED not in out, [line for line in run.lines if RESTARTED in line]


def assert_produced(summary) -> None:
    """Every message acknowledged (acks=all: two in-sync copies suffice), none reported undelivered."""
    print(summary.describe())
    assert (summary.sent, summary.extra_sent, summary.failed) == (USERS, MALFORMED, 0), summary.errors[:3]


def assert_exactly_once(settings: Settings, expected: dict) -> None:
    assert expected["records"] == TOTAL  # the topic holds each message once
    assert_stores_match(settings, expected)
    assert_aggregates_equal_the_table(settings)


# ----------------------------------------------------------------------------- the faults
def test_kafka_partition_leader_killed_while_producing_and_streaming(replicated_settings, tmp_path):
    """``kill -9`` of the broker leading partition 0 a few batches into the input; it stays
    down until the stream has read everything, then comes back and catches up."""
    settings = replicated_settings
    assert_three_copies(settings)
    users, bad = input_users("leader")
    run = start_stream(settings, tmp_path)
    producing = Producing(settings, users, bad, rate=RATE, paced=True).start()
    wait_for_batches(settings, run, after=producing.started_at, n=3, what="before the kill")
    leader = kafka_partitions(settings)[0]["leader_id"]
    victim = f"kafka-{leader}"  # broker node.id i is node kafka-i
    assert victim in stack.nodes(settings, "kafka")
    assert producing.running(), "the input was all sent before the kill: lower RATE"
    killed_at = time.time()
    pid = stack.kill(settings, victim)
    assert stack.process(settings, victim) is None
    producing.release()  # the rest while the broker is down

    assert_produced(producing.summary(run))
    parts = kafka_partitions(settings)  # a new leader, elected from the in-sync replicas
    assert parts[0]["leader_id"] not in (leader, -1), parts[0]
    assert all(leader not in p["isr_nodes"] for p in parts.values()), parts
    expected = expected_state(settings, users, bad)  # read with the broker down, too
    all_read_at = read_everything_while_down(settings, run, victim)
    stop_stream(run)

    batches = stores.connect(settings).mongo.read_batches()
    while_down = finished_between(batches, killed_at, all_read_at)
    led = f"{settings.kafka_topic}:0"
    from_led = [b for b in while_down if led in b["offsets"] and b["offsets"][led][1] > b["offsets"][led][0]]
    assert from_led, "no batch read the partition the killed broker led while it was down"

    restarted_at = time.time()
    stack.up(settings, services=[victim], echo=print)
    started = time.time() - restarted_at
    in_sync = wait_for_isr(settings, leader)
    assert stack.check(settings, victim)[0]
    print(
        f"{victim} (pid {pid}) killed {killed_at - producing.started_at:.1f}s into the input; "
        f"{len(batches)} batches, {len(while_down)} finished while it was down "
        f"({sum(b['read'] for b in while_down)} records, {len(from_led)} read partition 0); "
        f"all read {all_read_at - killed_at:.1f}s after the kill; back in {started:.1f}s, "
        f"in sync {in_sync:.1f}s later"
    )
    assert_exactly_once(settings, expected)


def test_cassandra_node_killed_between_a_batchs_plan_and_its_rows(replicated_settings, tmp_path):
    """The stream is held after the 3rd batch with rows wrote its plan, before its rows (the
    hold file); a Cassandra node is killed (``kill -9``) there and the batch released: its rows,
    and every later batch, are written to the two nodes left. The node comes back at the end."""
    settings = replicated_settings
    assert_three_copies(settings)
    users, bad = input_users("node")
    victim = stack.nodes(settings, "cassandra")[0]  # the first contact point
    run = start_stream(settings, tmp_path, hold=(AGGREGATES, 3))
    producing = Producing(settings, users, bad, rate=RATE, paced=True).start()
    held = run.wait_for_stage(AGGREGATES, 3, held=True)
    assert producing.running(), "the input was all sent before the kill: lower RATE"
    killed_at = time.time()
    pid = stack.kill(settings, victim)
    assert stack.process(settings, victim) is None and not stack.check(settings, victim)[0]
    producing.release()  # the rest while the node is down
    run.release()
    rows = run.wait_for_event(
        lambda e: e["stage"] == ROWS and e["batch_id"] == held["batch_id"], "rows of the held batch"
    )
    upserted = int(re.match(r"(\d+) rows upserted", rows["detail"]).group(1))

    assert_produced(producing.summary(run))
    expected = expected_state(settings, users, bad)
    all_read_at = read_everything_while_down(settings, run, victim)
    stop_stream(run)

    batches = stores.connect(settings).mongo.read_batches()
    (held_log,) = [b for b in batches if b["batch_id"] == held["batch_id"]]
    assert held_log["stored"] == upserted > 0
    assert killed_at < finished_at(held_log) < all_read_at
    while_down = finished_between(batches, killed_at, all_read_at)
    assert len([b for b in while_down if b["stored"]]) >= 2  # the held batch and later ones

    restarted_at = time.time()
    stack.up(settings, services=[victim], echo=print)
    started = time.time() - restarted_at
    all_replicas = wait_for_all_replicas(settings)
    print(
        f"{victim} (pid {pid}) killed in batch {held['batch_id']} between its plan and its "
        f"{upserted} rows; {len(batches)} batches, {len(while_down)} finished while it was down "
        f"({sum(b['stored'] for b in while_down)} rows); all read {all_read_at - killed_at:.1f}s "
        f"after the kill; back in {started:.1f}s, reads at ALL {all_replicas:.1f}s later"
    )
    assert_exactly_once(settings, expected)


def test_rolling_restart_of_the_cassandra_nodes_while_streaming(replicated_settings, tmp_path):
    """The three Cassandra nodes stopped and started one at a time (each healthy, and reads at
    ALL working, before the next goes) while users arrive: batches with rows finish in every
    node's window."""
    settings = replicated_settings
    assert_three_copies(settings)
    users, bad = input_users("rolling")
    run = start_stream(settings, tmp_path)
    producing = Producing(settings, users, bad, rate=ROLLING_RATE, paced=True).start()
    wait_for_batches(settings, run, after=producing.started_at, n=2, what="before the first stop")
    windows = []
    for name in stack.nodes(settings, "cassandra"):
        assert producing.running(), f"the input was all sent before {name} went down: lower ROLLING_RATE"
        stack.down(settings, services=[name], echo=print)
        stopped_at = time.time()
        assert stack.process(settings, name) is None and not stack.check(settings, name)[0]
        wait_for_batches(settings, run, after=stopped_at, what=f"while {name} was down")
        starting_at = time.time()
        stack.up(settings, services=[name], echo=print)
        healthy_at = time.time()
        all_replicas = wait_for_all_replicas(settings)  # before the next node goes
        windows.append((name, stopped_at, starting_at, healthy_at, all_replicas))
    producing.release()

    assert_produced(producing.summary(run))
    expected = expected_state(settings, users, bad)
    read = wait_until_read(settings, TOTAL, run, timeout=CAUGHT_UP)
    assert read == TOTAL, run.tail()
    stop_stream(run)

    batches = stores.connect(settings).mongo.read_batches()
    lines = []
    for name, stopped_at, starting_at, healthy_at, all_replicas in windows:
        during = [b for b in finished_between(batches, stopped_at, starting_at) if b["stored"]]
        assert during, f"no batch with rows finished while {name} was down"
        starting = [b for b in finished_between(batches, starting_at, healthy_at) if b["stored"]]
        lines.append(
            f"{name}: stopped {starting_at - stopped_at:.1f}s before its start ({len(during)} batches, "
            f"{sum(b['stored'] for b in during)} rows), started in {healthy_at - starting_at:.1f}s "
            f"({len(starting)} more batches meanwhile), reads at ALL {all_replicas:.1f}s later"
        )
    print(f"{len(batches)} batches; " + "; ".join(lines))
    assert_exactly_once(settings, expected)
