"""Shared fixtures of the unit tests: one local Spark session for the whole run.

``local[2]``, two shuffle partitions, no UI, UTC, quiet logs. The session is built
by ``profilepipe.pipeline.spark.get_spark`` (the same builder the pipeline uses), so the
tests also exercise it. Helpers build Kafka-shaped DataFrames and API-shaped users.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AS_OF = dt.date(2026, 1, 15)
RAW_SCHEMA = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    from profilepipe.config import Settings

    return Settings(
        spark_master="local[2]",
        spark_shuffle_partitions=2,
        spark_driver_memory="1g",
        pii_mode="bcrypt",
        bcrypt_cost=4,  # fast; one test runs the default cost 12 on two rows
        hmac_key="",
        as_of=AS_OF.isoformat(),
        checkpoint_dir=str(tmp_path_factory.mktemp("checkpoints")),
    )


@pytest.fixture(scope="session")
def spark(settings):
    from profilepipe.pipeline.spark import get_spark

    session = get_spark(settings, app_name="profilepipe-unit-tests", log_level="ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def envelope() -> dict:
    """Nine hand-written v1.4 users (GB, CA, NL, NO, IR, UA, RS, AU, FI-minor) in an envelope."""
    return json.loads((FIXTURES / "envelope_v14.json").read_text(encoding="utf-8"))


@pytest.fixture
def users(envelope) -> list[dict]:
    return copy.deepcopy(envelope["results"])


@pytest.fixture
def user(users):
    """A factory: a copy of the GB user, ``login__uuid=None`` sets a field, ``drop=["dob"]`` removes one."""

    def make(drop=(), **changes):
        u = copy.deepcopy(users[0])
        for path, value in [(p.replace("__", "."), v) for p, v in changes.items()] + [
            (p, DROP) for p in drop
        ]:
            *parents, leaf = path.split(".")
            node = u
            for p in parents:
                node = node[p]
            if value is DROP:
                node.pop(leaf, None)
            else:
                node[leaf] = value
        return u

    return make


DROP = object()


@pytest.fixture(scope="session")
def as_of() -> dt.date:
    return AS_OF


def to_bytes(value) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def raw(spark):
    """A factory: Kafka-shaped DataFrame of messages (dicts/lists -> JSON, str -> UTF-8, bytes as is)."""

    def make(values, topic="users", partition=0, keys=None):
        ts = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
        rows = [
            ((keys[i] if keys else None), to_bytes(v), topic, partition, i, ts) for i, v in enumerate(values)
        ]
        return spark.createDataFrame(rows, RAW_SCHEMA)

    return make
