"""Shared set-up of the integration tests: they need the running stack.

Start it with ``profilepipe stack up`` (``profilepipe stack status`` shows its health). If a
service is not healthy the tests fail at once with the status table instead of timing out
one by one. (The folder is the tier: ``tests/conftest.py`` marks these tests ``integration``.)

The ``stack_lifecycle`` tests stop and restart the stack: they run after every other test
of the session (deselect them with ``-m "not stack_lifecycle"``).
"""

from __future__ import annotations

import uuid

import pytest

from profilepipe import kafka_client, retry
from profilepipe.config import get_settings
from profilepipe.tools import reset
from profilepipe_stack import stack

LIFECYCLE = "stack_lifecycle"


def pytest_collection_modifyitems(config, items):
    # stable partition: lifecycle tests go to the very end of the session
    items[:] = [i for i in items if i.get_closest_marker(LIFECYCLE) is None] + [
        i for i in items if i.get_closest_marker(LIFECYCLE) is not None
    ]


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session", autouse=True)
def stack_running(settings):
    states = stack.status(settings)
    down = [s for s in states.values() if not s.healthy]
    if down:
        table = "\n".join(
            f"  {s.name:<10} {s.address:<22} {'ok' if s.healthy else 'DOWN'}  {s.detail}"
            for s in states.values()
        )
        pytest.fail(
            "the integration tests need the local stack, and it is not healthy:\n"
            f"{table}\nStart it with `profilepipe stack up` "
            "(`profilepipe stack logs` shows why a service did not start), then rerun.",
            pytrace=False,
        )
    return states


@pytest.fixture(scope="session")
def isolated(tmp_path_factory):
    """A factory: ``isolated("audit", pii_mode="hmac", ...)`` -> settings of a pipeline of its own.

    Its own topic (and dead-letter topic), Cassandra table (and erasure register), MongoDB
    collections and checkpoint, created now and dropped at the end of the session, so
    tests never see each other's data.
    """
    made = []

    def make(prefix: str, **overrides):
        tag = uuid.uuid4().hex[:8]
        settings = get_settings().replace(
            kafka_topic=f"{prefix}_users_{tag}",
            cassandra_table=f"users_{prefix}_{tag}",
            mongo_collection=f"agg_{prefix}_{tag}",
            checkpoint_dir=str(tmp_path_factory.mktemp(f"ckpt_{prefix}") / "q"),
            **overrides,
        )
        stack.ensure_topics(settings)
        stack.ensure_schema(settings)
        made.append(settings)
        return settings

    yield make
    for settings in made:  # retried: the lifecycle tests, which run last, have just restarted the stack
        retry.call(lambda s=settings: reset.remove_all(s), f"drop {settings.kafka_topic}", budget=120)


@pytest.fixture(scope="session")
def produce_and_stream():
    """A function: send ``users`` and the malformed messages ``bad``, stream until idle."""
    from profilepipe.pipeline import stream
    from profilepipe.sources import producer

    def run(settings, users: list[dict], bad: list[dict]):
        sent = producer.produce(users, settings, progress=False)
        sent_bad = kafka_client.produce_raw([(m["key"], m["value"]) for m in bad], settings)
        assert (sent.sent, sent.failed, sent_bad.sent, sent_bad.failed) == (len(users), 0, len(bad), 0)
        return stream.run(settings, until_idle=True, timeout=900)

    return run
