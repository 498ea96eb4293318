"""Shared set-up of the fault tests: kills and outages on the running local stack (slow).

They need the stack, as ``tests/integration`` does, whose fixtures ``settings``,
``stack_running`` and ``isolated`` (a topic, table and collections of a test's own) are
imported here, not copied. The folder is the tier (``tests/conftest.py`` marks these tests
``faults``); they stop and start services, so they also carry ``stack_lifecycle`` and run
after every other test of the session.

They find their moment through the stream's stage hook (``pipeline.batch_writer``:
``$PROFILEPIPE_STAGE_EVENTS`` and its hold file), not by matching log text.
"""

from __future__ import annotations

from integration.conftest import isolated, settings, stack_running  # noqa: F401  (fixtures)
