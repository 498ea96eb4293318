"""The test tiers are said once: the folder decides a test's tier (``TIERS`` in tests/conftest.py).

Every test under ``tests/<tier>/`` carries its folder's tier marker and no other: one
collection of the whole suite checks it, in tests/spark/test_tiers_collected.py (collecting the
spark tier imports pyspark, which the unit tier runs without); here, that no module sets a
tier marker itself. The Makefile's
``TEST_TIERS`` (but for the tiers of a topology of their own, ``OWN_TOPOLOGY``, which have a
``make test-<tier>`` instead) and the table in ``tests/README.md`` follow ``TIERS``.
"""

from __future__ import annotations

import re
from pathlib import Path

from support.tiers import OWN_TOPOLOGY, TIERS

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def test_every_test_folder_is_a_tier():
    folders = {p.parent.name for p in TESTS.glob("*/test_*.py")}
    assert folders == set(TIERS)


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
