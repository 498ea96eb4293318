"""Fixtures every tier shares: local settings (no servers) and the hand-written v1.4 users.

The folder a test is in decides its tier: ``TIERS`` below is the one list of them, and
``pytest_collection_modifyitems`` marks every test under ``tests/<tier>/`` with that tier's
marker (nothing else sets a tier marker; ``tests/spark/test_tiers_collected.py`` checks it). What each
tier needs, how long it takes and how to run it: the table in ``tests/README.md``.

Helpers shared across tiers live in ``tests/support`` (importable as ``support``).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
AS_OF = dt.date(2026, 1, 15)
DROP = object()

# tier (= folder under tests/, = marker) -> what it needs; by cost, the order `make test` runs them
TIERS = {
    "unit": "no Spark, no servers (tests/unit)",
    "spark": "starts a local Spark session, no servers (tests/spark)",
    "integration": "needs the running stack: Kafka, Cassandra, MongoDB-compatible server (tests/integration)",
    "cluster": "runs the stream on a local Spark standalone cluster beside the stack (tests/cluster)",
    "faults": "kills the stream and stops services of the running stack; slow (tests/faults)",
    "replicated": "kills Kafka brokers and Cassandra nodes of the replicated topology (tests/replicated)",
}
# tiers that need a topology of their own: not in `make test` (the Makefile's TEST_TIERS) but run
# by a target of their own, `make test-<tier>`, which starts that topology (skipped under any other)
OWN_TOPOLOGY = {"replicated"}


def pytest_configure(config):
    for tier, needs in TIERS.items():
        config.addinivalue_line("markers", f"{tier}: {needs}")


def tier_of(path) -> str | None:
    """The tier of a test file: the folder under ``tests/`` it is in, if that folder is a tier."""
    try:
        folder = Path(path).resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return None
    return folder if folder in TIERS else None


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = tier_of(item.path)
        if tier is not None:
            item.add_marker(tier)


def pytest_sessionfinish(session, exitstatus):
    """Cassandra sessions the tests opened, shut down before the interpreter exits."""
    stores = sys.modules.get("profilepipe.stores")
    if stores is not None:
        stores.close_all()


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    """Settings of a local run: ``local[2]``, two shuffle partitions, bcrypt cost 4, ``as_of`` fixed."""
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


@pytest.fixture
def full_settings(settings):
    """``settings`` in the full storage profile: the original project's row (name, username, birth date)."""
    return settings.replace(store_profile="full")


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


@pytest.fixture(scope="session")
def as_of() -> dt.date:
    return AS_OF
