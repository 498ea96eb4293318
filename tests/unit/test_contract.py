"""The data contract is defined once (``profilepipe.contract``); a second definition fails here.

A copy of a contract fact shows as a literal collection of its values somewhere else: a tuple,
list or set holding at least half (and three or more) of the reasons, the table's columns, the
dead-letter fields, the user's keys, the nationality codes, the outcomes or the aggregate
dimensions; or the raw Kafka schema, or the balance rule written out as a sum. A few values
picked for a test or a rule ("CA", "GB", "NL", "NO" have string postcodes) are not a copy.
Code that needs the whole fact imports it from the contract.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest

from profilepipe import contract
from profilepipe.config import project_root

ROOT = project_root()
FACTS = {
    "REASONS": set(contract.REASONS),
    "STORED_FIELDS": {f.column for f in contract.STORED_FIELDS},
    "DLQ_FIELDS": set(contract.DLQ_FIELDS) - {"reason", "detail"},
    "USER_KEYS": set(contract.USER_KEYS),
    "NATIONALITIES": set(contract.NATIONALITIES),
    "DIMENSIONS": set(contract.DIMENSIONS),
    "OUTCOMES": set(contract.OUTCOMES),
}
CONTRACT = ROOT / "lib" / "profilepipe" / "contract.py"


def _sources() -> list[Path]:
    files = [p for folder in ("lib", "tests", "bench") for p in sorted((ROOT / folder).rglob("*.py"))]
    return [p for p in files if p != CONTRACT and p.name != "test_contract.py"]


def _copies(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Tuple | ast.List | ast.Set):
            continue
        values = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        for fact, members in FACTS.items():
            if len(values & members) >= max(3, (len(members) + 1) // 2):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} repeats contract.{fact}")
    return found


def test_no_module_or_test_repeats_a_fact_of_the_contract():
    copies = [c for path in _sources() for c in _copies(path)]
    assert not copies, "import these from profilepipe.contract instead:\n" + "\n".join(copies)


def test_the_package_names_each_dead_letter_reason_from_the_contract():
    spelled = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for path in _sources()
        if path.is_relative_to(ROOT / "lib")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Constant) and node.value in contract.REASONS
    ]
    assert not spelled, "use the contract's names (contract.TOO_LARGE, ...):\n" + "\n".join(spelled)


def test_the_raw_kafka_schema_and_the_balance_rule_are_written_once():
    schema = re.compile(r"key binary,\s*value binary")
    rule = re.compile(r"stored\s*\+\s*\S*filtered_minor")
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources()
        if schema.search(p.read_text()) or rule.search(p.read_text())
    ]
    assert not offenders, offenders


def test_the_balance_rule():
    counts = {"read": 10, "stored": 5, "filtered_minor": 2, "erased": 1, "dead_letter": 2}
    assert contract.balanced(counts)
    assert not contract.balanced({**counts, "erased": 0})  # the fourth outcome counts
    assert contract.balanced({"read": 0})


@pytest.mark.parametrize(
    ("birth", "as_of", "age"),
    [("2008-06-01", "2026-06-01", 18), ("2008-06-02", "2026-06-01", 17), ("2008-02-29", "2026-03-01", 18)],
)
def test_exact_age_counts_the_birthday(birth, as_of, age):
    assert contract.age_on(dt.date.fromisoformat(birth), contract.processing_date(as_of)) == age


def test_keys_and_codes():
    assert contract.erasure_key(" 4B8F2E9A-1C3D-4E5F-8A9B-0C1D2E3F4A5B ") == contract.erasure_key(
        "4b8f2e9a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
    )
    assert contract.batch_key({("users", 1): (0, 9), ("users", 0): (3, 4)}) == contract.batch_key(
        {("users", 0): (3, 4), ("users", 1): (0, 9)}
    )
    assert contract.check_nats("gb, fr") == ("GB", "FR") and contract.check_nats(None) == ()
    with pytest.raises(ValueError, match="XX"):
        contract.check_nats("GB,XX")
    assert contract.age_band(17) == contract.UNDER_18 and contract.age_band(65) == "58-67"


def test_below_k_is_the_primary_suppression_rule():
    assert contract.below_k(4, 5) is True
    assert contract.below_k(5, 5) is False
    assert contract.below_k(0, 1) is True


def test_ranges_text_is_what_the_batch_key_digests():
    ranges = {("users", 1): (7, 9), ("users", 0): (0, 4)}
    assert contract.ranges_text(ranges) == "users:0:0-4;users:1:7-9"
    assert contract.ranges_text(ranges, " ") == "users:0:0-4 users:1:7-9"
    digest = hashlib.sha256(b"users:0:0-4;users:1:7-9").hexdigest()[:20]
    assert contract.batch_key(ranges) == digest
