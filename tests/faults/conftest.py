"""Shared set-up of the fault tests: kills and outages on the running local stack (slow).

They need the stack, as ``tests/integration`` does, whose fixtures ``settings``,
``stack_running`` and ``isolated`` (a topic, table and collections of a test's own) are
imported here, not copied. Every test in this folder is marked ``faults`` (and
``integration``); they stop and start services, so they also carry ``stack_lifecycle`` and
run after every other test of the session.

They find their moment through the stream's stage hook (``pipeline.batch_writer``:
``$PROFILEPIPE_STAGE_EVENTS`` and its hold file), not by matching log text.
"""

from __future__ import annotations

import pytest
from integration.conftest import LIFECYCLE, isolated, settings, stack_running  # noqa: F401  (fixtures)


def pytest_configure(config):
    config.addinivalue_line("markers", f"{LIFECYCLE}: stops and restarts the local stack (runs last)")


def pytest_collection_modifyitems(config, items):
    here = __file__.rsplit("/", 1)[0]
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.integration)
