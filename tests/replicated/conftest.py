"""Shared set-up of the replicated tier: nodes lost while the stream runs on three copies.

They need the replicated topology (``PROFILEPIPE_TOPOLOGY=replicated``: three Kafka brokers,
three Cassandra nodes, the MongoDB-compatible server and the Spark standalone cluster);
``make test-replicated`` starts it, runs this folder and stops it. Under any other topology
every test here is skipped with one line saying so, before any fixture runs.

``tests/integration``'s fixtures ``settings``, ``stack_running`` and ``isolated`` (a topic,
table and collections of a test's own) and ``support.streaming``'s ``no_stream_left_behind``
are imported here, not copied. The folder is the tier (``tests/conftest.py`` marks these
tests ``replicated``); they stop and start nodes, so they also carry ``stack_lifecycle``.
"""

from __future__ import annotations

import uuid

import pytest
from integration.conftest import isolated, settings, stack_running  # noqa: F401  (fixtures)

from profilepipe.config import get_settings
from profilepipe_stack import stack

from support.streaming import (
    AS_OF,
    no_stream_left_behind,  # noqa: F401  (an autouse fixture)
)

NEEDS = "needs the replicated topology: make test-replicated"
KEY = f"fault-test-replicated-{uuid.uuid4().hex}"  # a fresh key per run: the logs must not show it
ROLES = ("kafka", "cassandra")


@pytest.hookimpl(tryfirst=True)  # before any fixture of the test is set up
def pytest_runtest_setup(item):
    # a conftest's runtest hooks see only the tests of its folder
    if get_settings().topology != "replicated":
        pytest.skip(NEEDS)


@pytest.fixture
def replicated_settings(isolated):  # noqa: F811  (the imported fixture)
    """A pipeline of the test's own; small batches (at most 100 offsets, a trigger every 0.5 s),
    so the stream runs many batches while a node is down. Afterwards every node is back."""
    ours = isolated(
        "repl",
        pii_mode="hmac",
        hmac_key=KEY,
        as_of=AS_OF,
        max_offsets_per_trigger=100,
        trigger_seconds=0.5,
        stream_restarts=2,
    )
    yield ours
    nodes = [name for role in ROLES for name in stack.nodes(ours, role)]
    down = [name for name in nodes if stack.process(ours, name) is None]
    if down:  # whatever a failed test left stopped
        stack.up(ours, services=down, echo=print)
