"""The writer of the users table (``stores.cassandra_jvm``, the Java driver) against the running stack.

Rows (hand-made edge cases and generated users through the stream's transform) are written into
an isolated table and read back with the Python driver; every column of every row must equal the
value Spark holds: timestamps (the same instant, UTC, millisecond precision, before 1970 too),
dates (a leap day, 1900), nulls, empty and non-ASCII text. A second write is an upsert (same rows,
same values) and the returned counts are the rows written. The writer's jars come from the
set-up's ``jars`` step (the ``cassandra-writer`` group); a session started without them gets
them added (``cassandra_jvm._writer``).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from cassandra.util import Date

from profilepipe import contract, stores
from profilepipe.pipeline import transform
from profilepipe.pipeline.spark import get_spark
from profilepipe.sources import generator
from profilepipe.stores import cassandra_jvm

from support.frames import kafka_frame

KEY = "jvm-writer-test-key-not-a-secret"
AS_OF = "2026-01-15"
SCHEMA = (
    "user_id string, full_name string, gender string, username string, email_domain string, "
    "phone_hash string, address_hash string, birth_date date, age int, registered_at timestamp, "
    "nationality string, country string, ingested_at timestamp"
)
UTC = dt.UTC
FULL = {"store_profile": contract.FULL}  # the edge rows are full rows: every column type
USER_COLUMNS = contract.user_columns(contract.FULL)


def _edge_rows() -> list[tuple]:
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    return [
        # microseconds: both writers store milliseconds (truncated)
        (
            str(uuid.uuid4()),
            "Zoë Ødegård",
            "female",
            "zoe",
            "example.com",
            "a" * 64,
            "b" * 64,
            dt.date(2000, 2, 29),
            25,
            dt.datetime(2015, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC),
            "NO",
            "Norway",
            dt.datetime(2026, 1, 15, 12, 0, 0, 123_456, tzinfo=UTC),
        ),
        # an aware timestamp of another zone, a date of 1900, a timestamp before 1970 (whole ms)
        (
            str(uuid.uuid4()).upper(),
            "Ιωάννης Παπαδόπουλος",
            "male",
            "ioannis",
            "example.com",
            "c" * 64,
            "d" * 64,
            dt.date(1900, 1, 1),
            126,
            dt.datetime(1969, 12, 31, 23, 0, 0, 5_000, tzinfo=ist),
            "TR",
            "Turkey",
            dt.datetime(2026, 1, 15, 12, 0, 1, tzinfo=UTC),
        ),
        # nulls in every column but the key
        (str(uuid.uuid4()), None, None, None, None, None, None, None, None, None, None, None, None),
        # empty strings stay empty strings
        (
            str(uuid.uuid4()),
            "",
            "",
            "",
            "",
            "",
            "",
            dt.date(1970, 1, 1),
            0,
            dt.datetime(1970, 1, 1, tzinfo=UTC),
            "",
            "",
            dt.datetime(2026, 1, 15, tzinfo=UTC),
        ),
    ]


EDGE_ROWS = _edge_rows()  # once: the user ids are random


@pytest.fixture(scope="module")
def spark(settings):
    return get_spark(settings)


@pytest.fixture(scope="module")
def rows(spark, settings):
    """Edge rows plus 300 generated users through the stream's transform, cached, 3 partitions."""
    shaped_settings = settings.replace(pii_mode="hmac", hmac_key=KEY, as_of=AS_OF, **FULL)
    users = generator.generate_users(300, seed="jvm-writer", minor_share=0.0, as_of=AS_OF)
    raw = kafka_frame(spark, users, keys=[u["login"]["uuid"].encode() for u in users])
    shaped = transform.assemble(raw, shaped_settings)
    generated = transform.stored_rows(shaped)
    edge = spark.createDataFrame(EDGE_ROWS, SCHEMA)
    assert generated.schema == edge.schema, "the edge rows must have the transform's column types"
    df = generated.unionByName(edge).repartition(3).persist()
    assert df.count() == 300 + len(EDGE_ROWS)
    yield df
    df.unpersist()


def _table(settings) -> dict[uuid.UUID, dict]:
    """The table as the Python driver reads it, dates as ``datetime.date``."""
    session = stores.connect(settings).cassandra.session()
    cql = f"SELECT * FROM {settings.users_table}"
    return {
        r.user_id: {k: v.date() if isinstance(v, Date) else v for k, v in r._asdict().items()}
        for r in session.execute(cql, timeout=60)
    }


def _as_read(instant: dt.datetime) -> dt.datetime:
    """An aware instant as the Python driver reads it back: naive UTC, millisecond precision."""
    naive = instant.astimezone(UTC).replace(tzinfo=None)
    return naive.replace(microsecond=naive.microsecond // 1000 * 1000)


def _expected(df) -> dict[uuid.UUID, dict]:
    """What the table must hold for ``df``'s rows: the key a uuid, instants as naive UTC milliseconds."""
    out = {}
    for row in df.collect():
        want = {}
        for col, value in row.asDict().items():
            if col == "user_id":
                value = uuid.UUID(value)
            elif isinstance(value, dt.datetime):
                value = _as_read(contract.from_spark(value))
            want[col] = value
        out[want["user_id"]] = want
    return out


def test_jvm_writer_stores_the_values_spark_holds(spark, rows, isolated):
    by_jvm = isolated("cwjvm", **FULL)
    total = rows.count()

    assert cassandra_jvm.write_cassandra_jvm(rows, by_jvm) == total

    expected, got = _expected(rows), _table(by_jvm)
    assert len(got) == total
    assert set(got) == set(expected)
    for user_id, row in expected.items():
        assert got[user_id] == row, f"row {user_id} differs"

    # the edge rows' values, from the Python tuples rather than Spark's copy of them
    edge = {uuid.UUID(r[0]): r for r in EDGE_ROWS}
    for user_id, source in edge.items():
        stored = got[user_id]
        assert set(stored) == set(USER_COLUMNS)
        for col, value in zip(USER_COLUMNS, source, strict=True):
            if col == "user_id":
                assert stored[col] == user_id
            elif isinstance(value, dt.datetime):
                assert stored[col] == _as_read(value), col
            elif isinstance(value, dt.date):
                assert stored[col] == value, col
            else:
                assert stored[col] == value, col


def test_jvm_writer_is_an_idempotent_upsert(spark, rows, isolated):
    settings = isolated("cwup", **FULL)
    total = rows.count()
    assert cassandra_jvm.write_cassandra_jvm(rows, settings) == total
    first = _table(settings)
    assert cassandra_jvm.write_cassandra_jvm(rows, settings, max_in_flight=8) == total  # replayed batch
    assert _table(settings) == first
    assert len(first) == total


def test_jvm_writer_ignores_the_session_time_zone(spark, rows, isolated):
    """Instants are written as instants: another ``spark.sql.session.timeZone`` changes nothing."""
    reference, shifted = isolated("cwtz0", **FULL), isolated("cwtz1", **FULL)
    assert cassandra_jvm.write_cassandra_jvm(rows, reference) == rows.count()
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    try:
        assert cassandra_jvm.write_cassandra_jvm(rows, shifted) == rows.count()
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert _table(shifted) == _table(reference)


def test_jvm_writer_counts_an_empty_frame_and_refuses_other_columns(spark, rows, isolated):
    settings = isolated("cwempty", **FULL)
    assert cassandra_jvm.write_cassandra_jvm(rows.limit(0), settings) == 0
    options = cassandra_jvm.jvm_options(settings.replace(cassandra_username="u", cassandra_password="s3cret"))
    assert "s3cret" not in cassandra_jvm.describe(options)
    with pytest.raises(Exception, match="expected the columns"):
        writer = cassandra_jvm._writer(spark, settings)
        jmap = cassandra_jvm._java_map(spark.sparkContext._jvm, cassandra_jvm.jvm_options(settings))
        writer.write(rows.select(*reversed(USER_COLUMNS))._jdf, jmap)


def test_jvm_writer_stores_the_minimal_rows(spark, settings, isolated):
    """The minimal profile's columns (``birth_year`` an int, no name)."""
    by_jvm = isolated("cwminjvm")
    assert by_jvm.store_profile == contract.MINIMAL
    users = generator.generate_users(50, seed="jvm-writer-minimal", minor_share=0.0, as_of=AS_OF)
    raw = kafka_frame(spark, users, keys=[u["login"]["uuid"].encode() for u in users])
    shaped = transform.assemble(raw, by_jvm.replace(as_of=AS_OF))
    rows = transform.stored_rows(shaped).persist()
    assert tuple(rows.columns) == contract.user_columns(contract.MINIMAL)
    assert cassandra_jvm.write_cassandra_jvm(rows, by_jvm) == 50
    got = _table(by_jvm)
    assert got == _expected(rows) and len(got) == 50
    assert {u["login"]["uuid"]: int(u["dob"]["date"][:4]) for u in users} == {
        str(k): r["birth_year"] for k, r in got.items()
    }
    rows.unpersist()


def test_jvm_writer_gives_up_after_the_retry_budget(spark, rows, settings):
    """Nobody on the port: connecting is retried (0.5 s, 1 s, the rest) for the budget, then the job fails."""
    import socket
    import time

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = settings.replace(cassandra_port=port, sink_retry_seconds=2.0, **FULL)
    started = time.monotonic()
    with pytest.raises(Exception, match="AllNodesFailedException"):
        cassandra_jvm.write_cassandra_jvm(rows.limit(10), nowhere)
    assert 2.0 <= time.monotonic() - started < 60
