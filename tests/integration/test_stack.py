"""Smoke tests of the local stack against the real servers (no mocks).

Needs ``profilepipe stack up``. The last test (``stack_lifecycle``) stops everything, checks
that no process is left, and brings the stack back up.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from profilepipe.errors import StackError
from profilepipe_stack import clients, layout, processes, stack

EXPECTED_COLUMNS = {  # the default storage profile, minimal: no name, username or birth date
    "user_id": "uuid",
    "gender": "text",
    "email_domain": "text",
    "phone_hash": "text",
    "address_hash": "text",
    "birth_year": "int",
    "age": "int",
    "registered_at": "timestamp",
    "nationality": "text",
    "country": "text",
    "ingested_at": "timestamp",
}


# --------------------------------------------------------------------------- Kafka
@pytest.fixture
def scratch_topic(settings):
    topic = f"profilepipe-test-{uuid.uuid4().hex[:10]}"
    admin = clients.kafka_admin(settings)
    try:
        admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
        admin.wait_for_topics([topic], timeout_ms=30000)
        yield topic
    finally:
        admin.delete_topics([topic], raise_errors=False)
        admin.close()


def test_kafka_produce_and_consume_one_message(settings, scratch_topic):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    key, value = str(uuid.uuid4()).encode(), b'{"hello": "kafka"}'
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        meta = producer.send(scratch_topic, key=key, value=value).get(timeout=30)
        producer.flush(30)
    finally:
        producer.close()
    assert (meta.topic, meta.partition, meta.offset) == (scratch_topic, 0, 0)

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        consumer.assign([TopicPartition(scratch_topic, 0)])
        records, deadline = [], time.monotonic() + 30
        while not records and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
    finally:
        consumer.close()
    assert [(r.key, r.value) for r in records] == [(key, value)]


def test_pipeline_topics_exist_with_configured_partitions(settings):
    admin = clients.kafka_admin(settings)
    try:
        described = {t["name"]: t for t in admin.describe_topics([settings.kafka_topic, settings.dlq_topic])}
    finally:
        admin.close()
    assert described[settings.kafka_topic]["error_code"] == 0
    assert len(described[settings.kafka_topic]["partitions"]) == settings.kafka_partitions
    assert described[settings.dlq_topic]["error_code"] == 0
    assert len(described[settings.dlq_topic]["partitions"]) >= 1


def test_ensure_topics_is_idempotent(settings):
    first = stack.ensure_topics(settings)
    second = stack.ensure_topics(settings)
    assert first == second
    assert first[settings.kafka_topic] == settings.kafka_partitions


def test_auto_topic_creation_is_off(settings):
    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    topic = f"profilepipe-never-created-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, max_block_ms=3000)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(topic, b"x").get(timeout=10)
    finally:
        producer.close(timeout=5)
    admin = clients.kafka_admin(settings)
    try:
        assert topic not in admin.list_topics()
    finally:
        admin.close()


# --------------------------------------------------------------------------- Cassandra
@pytest.fixture(scope="module")
def cql(settings):
    stack.ensure_schema(settings)
    cluster = clients.cassandra_cluster(settings, timeout=30.0)
    session = cluster.connect()
    yield session
    cluster.shutdown()


def test_cassandra_users_table_has_the_contract_columns(settings, cql):
    rows = cql.execute(
        "SELECT column_name, type, kind FROM system_schema.columns WHERE keyspace_name=%s AND table_name=%s",
        (settings.cassandra_keyspace, settings.cassandra_table),
    )
    rows = list(rows)
    assert {r.column_name: r.type for r in rows} == EXPECTED_COLUMNS
    assert [r.column_name for r in rows if r.kind == "partition_key"] == ["user_id"]


def test_cassandra_write_read_delete_a_row(settings, cql):
    table = settings.users_table
    user_id = uuid.uuid4()
    insert = cql.prepare(
        f"INSERT INTO {table} (user_id, gender, birth_year, age, registered_at) VALUES (?, ?, ?, ?, ?)"
    )
    registered = dt.datetime(2020, 1, 2, 3, 4, 5)
    cql.execute(insert, (user_id, "female", 1990, 35, registered))
    try:
        row = cql.execute(
            f"SELECT gender, birth_year, age, registered_at FROM {table} WHERE user_id=%s", (user_id,)
        ).one()
        assert row is not None
        assert (row.gender, row.birth_year, row.age, row.registered_at) == (
            "female",
            1990,
            35,
            registered,
        )
    finally:
        cql.execute(f"DELETE FROM {table} WHERE user_id=%s", (user_id,))
    assert cql.execute(f"SELECT user_id FROM {table} WHERE user_id=%s", (user_id,)).one() is None


def test_closed_sessions_end_their_cluster_and_a_new_one_opens(settings):
    from profilepipe import stores

    session = stores.connect(settings).cassandra.session()
    stores.close_all()
    assert session.is_shutdown and session.cluster.is_shutdown
    again = stores.connect(settings).cassandra.session()
    assert again is not session
    assert again.execute("SELECT release_version FROM system.local").one() is not None


def test_ensure_schema_is_idempotent(settings):
    stack.ensure_schema(settings)
    stack.ensure_schema(settings)


# --------------------------------------------------------------------------- MongoDB-compatible
def test_mongo_serves_the_operations_the_pipeline_uses(settings):
    """Upserts, a unique index, and the guarded ``$inc``/``$push``/``$pull`` of ``MongoStore.apply_plan``,
    on whichever server ``PROFILEPIPE_MONGO_SERVER`` chose. (No ``$group``: the pipeline sums in
    Python; FerretDB v1 has no ``$avg`` accumulator and computes only the first ``$sum`` of a group.)"""
    import pymongo

    client = pymongo.MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=10000)
    db = client[f"profilepipe_test_{uuid.uuid4().hex[:8]}"]
    try:
        coll = db["agg"]
        coll.create_index([("k", 1)], unique=True)
        rows = [("a", "FR", 10), ("b", "FR", 20), ("c", "DE", 7), ("a", "FR", 30)]  # "a" upserted twice
        for k, nat, n in rows:
            coll.update_one({"k": k}, {"$set": {"nat": nat, "n": n}}, upsert=True)
        assert coll.count_documents({}) == 3
        assert {d["k"]: d["n"] for d in coll.find({"k": {"$in": ["a", "c"]}})} == {"a": 30, "c": 7}
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            coll.insert_one({"k": "a"})

        merged = db["merged"]
        start = {"$setOnInsert": {"count": 0, "applied": []}}
        for _ in range(2):  # a replayed plan: the second round changes nothing
            merged.bulk_write([pymongo.UpdateOne({"_id": "x"}, start, upsert=True)])
            merged.bulk_write(
                [
                    pymongo.UpdateOne(
                        {"_id": "x", "applied": {"$ne": "b1"}},
                        {"$inc": {"count": 5}, "$push": {"applied": "b1"}},
                    )
                ]
            )
        assert merged.find_one({"_id": "x"}) == {"_id": "x", "count": 5, "applied": ["b1"]}
        merged.update_one({"_id": "x"}, {"$pull": {"applied": "b1"}})
        assert merged.find_one({"_id": "x"})["applied"] == []
    finally:
        client.drop_database(db.name)
        client.close()


def test_ferretdb_finds_by_id_through_the_id_index(settings):
    """The merge of a batch updates its groups by ``_id``; on FerretDB's SQLite backend each such
    update used to scan the whole collection (its ``_id`` index was never used), so a batch's
    merge grew with the stream's history. ``stack/ferretdb/patches/`` fixes that in our build,
    also for a filter that names more than the ``_id`` (0002): the plan SQLite chose is in
    ``explain``'s answer."""
    import pymongo

    from profilepipe_stack import services

    if services.resolve(settings, "mongo").name != "ferretdb":
        pytest.skip("the stack's MongoDB-compatible server is mongo-java-server (in memory, no SQL plan)")
    client = pymongo.MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=10000)
    db = client[f"profilepipe_test_{uuid.uuid4().hex[:8]}"]
    try:
        db["merged"].insert_many([{"_id": f"country|{i}", "count": i} for i in range(50)])
        # an update by _id finds its document by this query, then writes it by the same
        # expression (FerretDB's explain shows the plan of finds only)
        answer = db.command("explain", {"find": "merged", "filter": {"_id": "country|7"}})
        plan = " ".join(answer["queryPlanner"]["Plan"])
        assert answer["filterPushdown"] and "USING INDEX" in plan and "SCAN" not in plan, plan
        # the merge's guarded update (add a batch's change once) names more than the _id:
        # still found by the index, the rest of the filter checked on the one document
        guarded = {"_id": "country|7", "applied": {"$ne": "batch-1"}}
        answer = db.command("explain", {"find": "merged", "filter": guarded})
        plan = " ".join(answer["queryPlanner"]["Plan"])
        assert "USING INDEX" in plan and "SCAN" not in plan, plan
        update = {"$inc": {"count": 1}, "$push": {"applied": "batch-1"}}
        assert db["merged"].update_one(guarded, update).modified_count
        assert not db["merged"].update_one(guarded, {"$inc": {"count": 1}}).matched_count  # the guard holds
        assert db["merged"].find_one({"_id": "country|7"})["count"] == 8
    finally:
        client.drop_database(db.name)
        client.close()


# --------------------------------------------------------------------------- stack API
def test_status_reports_all_healthy(settings):
    states = stack.status(settings)
    assert set(states) == {"kafka", "cassandra", "mongo"}
    for s in states.values():
        assert s.healthy, s
        assert s.address
    assert states["cassandra"].detail.startswith("Cassandra 5.0")
    assert "MongoDB-compatible" in states["mongo"].detail
    assert states["kafka"].detail.startswith("Kafka ")


def test_up_twice_is_a_noop(settings):
    before = {k: v.pid for k, v in stack.status(settings).items()}
    lines: list[str] = []
    t0 = time.monotonic()
    stack.up(settings, echo=lines.append)
    elapsed = time.monotonic() - t0
    after = {k: v.pid for k, v in stack.status(settings).items()}
    assert after == before
    assert elapsed < 30, lines
    for svc, pid in before.items():
        word = "already running" if pid is not None else "external"
        assert any(line.startswith(f"{svc}: {word}") for line in lines), lines


def test_rss_and_logs_of_our_servers(settings):
    ours = [k for k, v in stack.status(settings).items() if v.pid is not None]
    if not ours:
        pytest.skip("all services are external (no pid files): nothing of ours to measure")
    rss = stack.rss_mb(settings)
    for svc in ours:
        assert 20 < rss[svc] < 8192, rss
        assert stack.logs(settings, svc, lines=5).count("\n") <= 4
        assert stack.logs(settings, svc, lines=200).strip()


def test_port_taken_by_a_stranger_is_reported(settings, tmp_path):
    import socket

    # a free port standing in for Cassandra's native port, held by a plain socket (not ours)
    with socket.socket() as holder:
        holder.bind((settings.cassandra_host, 0))
        holder.listen()
        port = holder.getsockname()[1]
        other = settings.replace(cassandra_port=port, stack_dir=str(tmp_path / "stack"))
        with pytest.raises(StackError, match=rf"port .*:{port} is already in use.*ss -ltnp"):
            stack.up(other, services=["cassandra"], echo=lambda _line: None)
    assert not (tmp_path / "stack" / "run" / "cassandra.pid").exists()


# --------------------------------------------------------------------------- lifecycle (runs last)
@pytest.mark.stack_lifecycle
def test_down_leaves_no_process_behind_then_up_again(settings):
    import psutil

    pids = {k: v.pid for k, v in stack.status(settings).items() if v.pid is not None}
    if not pids:
        pytest.skip("no service of ours is running (external stack): nothing to stop")
    try:
        stack.down(settings, echo=lambda _line: None)
        for svc, pid in pids.items():
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, svc
            assert not layout.pid_path(settings, svc).exists()
        # both markers of a stopped service (the Spark cluster's daemons share the stack marker)
        markers = [processes.markers(settings, svc) for svc in pids]
        leftovers = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if any(all(m in (p.info["cmdline"] or []) for m in pair) for pair in markers)
        ]
        assert leftovers == []
        assert all(not v.healthy for k, v in stack.status(settings).items() if k in pids)
    finally:
        stack.up(settings, services=list(pids), echo=lambda _line: None)
    states = stack.status(settings)
    assert all(states[svc].healthy and states[svc].pid not in (None, pids[svc]) for svc in pids), states
