"""Each collected test carries its folder's tier marker and no other (``TIERS`` in tests/conftest.py).

One collection of the whole suite (no Spark session, no servers: collecting imports the test
modules, it runs none of them) records each test's markers. Collecting the spark tier imports
pyspark, so this check is in that tier; the rest of the tiers' checks: tests/unit/test_tiers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.tiers import TIERS

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

PROBE = textwrap.dedent(
    """
    import json, os

    def pytest_collection_finish(session):
        marks = {i.nodeid: sorted({m.name for m in i.iter_markers()}) for i in session.items}
        with open(os.environ["TIERS_PROBE_OUT"], "w") as f:
            json.dump(marks, f)
    """
)


@pytest.fixture(scope="module")
def markers(tmp_path_factory) -> dict[str, list[str]]:
    """Every collected test of ``tests/`` -> the names of its markers."""
    d = tmp_path_factory.mktemp("probe")
    (d / "tiers_probe.py").write_text(PROBE)
    out = d / "markers.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(d), os.environ.get("PYTHONPATH")]))}
    env["TIERS_PROBE_OUT"] = str(out)
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "tiers_probe", "tests"]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


def test_each_test_carries_exactly_its_folders_tier(markers):
    by_tier = {tier: 0 for tier in TIERS}
    for nodeid, names in markers.items():
        folder = nodeid.split("/")[1]
        assert [n for n in names if n in TIERS] == [folder], nodeid
        by_tier[folder] += 1
    assert all(by_tier.values()), by_tier  # every tier has tests, so the check above saw it


def test_notebook_order_is_an_integration_test(markers):
    # it runs the notebooks against the servers: it needs the stack, not just local Spark
    ids = [n for n in markers if n.startswith("tests/integration/test_notebook_order.py::")]
    assert ids and all("integration" in markers[n] and "spark" not in markers[n] for n in ids)
