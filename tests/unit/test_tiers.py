"""The test tiers are said once: the folder decides a test's tier (``TIERS`` in tests/conftest.py).

One collection of the whole suite (no Spark session, no servers: collecting imports the test
modules, it runs none of them) records each test's markers; every test under
``tests/<tier>/`` must carry its folder's tier marker and no other. The Makefile's
``TEST_TIERS`` (but for the tiers of a topology of their own, ``OWN_TOPOLOGY``, which have a
``make test-<tier>`` instead) and the table in ``tests/README.md`` follow ``TIERS``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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


def _root_conftest():
    """tests/conftest.py (loaded under a name of its own, not pytest's ``conftest``)."""
    spec = importlib.util.spec_from_file_location("tests_root_conftest", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ROOT_CONFTEST = _root_conftest()
TIERS = _ROOT_CONFTEST.TIERS
OWN_TOPOLOGY = _ROOT_CONFTEST.OWN_TOPOLOGY


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


def test_every_test_folder_is_a_tier():
    folders = {p.parent.name for p in TESTS.glob("*/test_*.py")}
    assert folders == set(TIERS)


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


def test_no_module_or_conftest_sets_a_tier_marker_itself():
    tier_mark = re.compile(rf"pytest\.mark\.({'|'.join(TIERS)})\b|add_marker\(")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in TESTS.rglob("*.py")
        if path != TESTS / "conftest.py" and path != TESTS / "unit" / "test_tiers.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if tier_mark.search(line)
    ]
    assert not found, "tier markers come from the folder (tests/conftest.py), not from:\n" + "\n".join(found)


def test_makefile_runs_the_tiers_in_order():
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^TEST_TIERS := (.+)$", makefile, re.M).group(1).split()
    assert listed == [f"tests/{tier}" for tier in TIERS if tier not in OWN_TOPOLOGY]
    for tier in OWN_TOPOLOGY:  # a topology of its own: a target of its own instead
        assert re.search(rf"^test-{tier}:", makefile, re.M), f"no `make test-{tier}`"
    for tier in ("unit", "spark"):
        assert re.search(rf"^test-{tier}: .*## .+\n\t@\$\(BIN\)/pytest tests/{tier}$", makefile, re.M), tier


def test_the_readme_table_has_a_row_per_tier():
    rows = re.findall(r"^\| `tests/(\w+)`", (TESTS / "README.md").read_text(), re.M)
    assert rows == list(TIERS)
