"""The unit tier: no Spark, no servers, seconds (``make test-unit``).

The shared fixtures (settings, the hand-written users) are in ``tests/conftest.py``. A test
that starts Spark belongs in ``tests/spark``: the check below fails the run if one did.
"""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(scope="session", autouse=True)
def no_spark_in_the_unit_tier():
    yield
    context = sys.modules.get("pyspark") and sys.modules["pyspark"].SparkContext._active_spark_context
    if context is not None:
        pytest.fail("a unit test started Spark: move it to tests/spark", pytrace=False)
