"""Stored instants equal their sources in any time zone (``contract.from_spark``/``from_store``).

PySpark hands Python a naive datetime in the process's local time; the Cassandra driver and
pymongo hand back naive UTC. These tests move the process to Paris (UTC+1 in December) and
check that both rules keep the instant. The rows' writer takes Spark's instants in the JVM,
without a wall clock (``tests/integration/test_cassandra_jvm_writer.py``). ``.ci/run`` runs the
whole suite under ``TZ=America/Los_Angeles`` as well.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from profilepipe import contract
from profilepipe.config import project_root

INSTANT = dt.datetime(2026, 12, 2, 12, 0, 5, tzinfo=dt.UTC)


@pytest.fixture
def paris(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def spark_naive(instant: dt.datetime) -> dt.datetime:
    """What PySpark's ``collect`` gives for ``instant``: the local wall clock, naive."""
    return dt.datetime.fromtimestamp(instant.timestamp())


def test_a_spark_datetime_is_local_time(paris):
    local = spark_naive(INSTANT)
    assert local.hour == 13  # Paris, in December
    assert contract.from_spark(local) == INSTANT
    assert contract.from_spark(local).utcoffset() == dt.timedelta(0)


def test_a_store_datetime_is_utc(paris):
    assert contract.from_store(INSTANT.replace(tzinfo=None)) == INSTANT
    assert contract.from_store(INSTANT) == INSTANT
    assert contract.from_store("2026-12-02") == "2026-12-02"


def test_no_module_converts_instants_itself():
    """Naive datetimes are read in ``contract`` only: another rule would disagree with it."""
    lib = Path(project_root()) / "lib"  # profilepipe and profilepipe_stack
    found = [
        f"{path.relative_to(lib)}:{n}"
        for path in lib.rglob("*.py")
        if path.name != "contract.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "replace(tzinfo" in line or "tzinfo is None" in line
    ]
    assert not found, f"convert instants with contract.from_spark/from_store: {found}"
