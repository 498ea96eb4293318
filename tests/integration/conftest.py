"""Shared set-up of the integration tests: they need the running stack.

Start it with ``profilepipe stack up`` (or ``python -m profilepipe.stack up``). Every test
in this folder is marked ``integration``; if a service is not healthy the tests fail at
once with the status table instead of timing out one by one.

The ``stack_lifecycle`` tests stop and restart the stack: they run after every other test
of the session (deselect them with ``-m "not stack_lifecycle"``).
"""

from __future__ import annotations

import pytest

from profilepipe import stack
from profilepipe.config import get_settings

LIFECYCLE = "stack_lifecycle"


def pytest_configure(config):
    config.addinivalue_line("markers", f"{LIFECYCLE}: stops and restarts the local stack (runs last)")


def pytest_collection_modifyitems(config, items):
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.integration)
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
            "(or `python -m profilepipe.stack up`), then rerun.",
            pytrace=False,
        )
    return states
