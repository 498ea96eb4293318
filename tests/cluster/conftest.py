"""Shared set-up of the cluster tests: a Spark standalone cluster and the local stack.

The cluster (a master and ``PROFILEPIPE_SPARK_WORKERS`` workers of one core each, on
127.0.0.1) is started once per session by :func:`profilepipe_stack.cluster.up` and
stopped at the end, unless it was already running (then it is left as it was). The stack
(Kafka, Cassandra, MongoDB) must be running, as for ``tests/integration``, whose fixtures
``settings``, ``stack_running`` and ``isolated`` (a topic, table and collections of a test's
own) are imported here, not copied. The folder is the tier (``tests/conftest.py`` marks these
tests ``cluster``).

A standalone application takes every free core, so the tests run one application at a time.
"""

from __future__ import annotations

import pytest
from integration.conftest import isolated, settings, stack_running  # noqa: F401  (fixtures)

from profilepipe_stack import cluster as spark_cluster


@pytest.fixture(scope="session")
def cluster(settings):  # noqa: F811  (the imported fixture)
    """The master URL of a running cluster with all its workers; stopped at the end if we started it."""
    before = spark_cluster.status(settings)
    ran = all(s.healthy for s in before.values())
    url = spark_cluster.up(settings, echo=print)
    yield url
    if not ran:
        spark_cluster.down(settings, echo=print)
