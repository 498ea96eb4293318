"""Fixtures every tier shares: local settings (no servers) and the hand-written v1.4 users.

The tiers, by cost (each folder marks its tests in its own ``conftest.py``):

* ``tests/unit`` - no Spark, no servers: seconds (``make test-unit``);
* ``tests/spark`` - a local Spark session, no servers (marker ``spark``);
* ``tests/integration`` - the running local stack (marker ``integration``; its own
  ``settings`` from the environment);
* ``tests/faults`` - kills and outages on the stack, slow (markers ``faults``, ``integration``).

Helpers shared across tiers live in ``tests/support`` (importable as ``support``).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AS_OF = dt.date(2026, 1, 15)
DROP = object()


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
