"""The unit tier runs without pyspark installed: nothing it imports imports pyspark at import time.

Every module the unit tests import (at the top or inside a test: ``profilepipe``,
``profilepipe_stack``, the bench's package and ``support``) is imported in a fresh Python
whose import system refuses ``pyspark`` and ``py4j``, as if they were not installed. The
recipe for a real environment without them is in tests/README.md (the unit tier's row).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import profilepipe

UNIT = Path(__file__).resolve().parent
TESTS = UNIT.parent
ROOT = TESTS.parent
OURS = ("profilepipe", "profilepipe_stack", "profilepipe_bench", "support")

#: Run in the child: pyspark refused, then each name imported (a module, or the module holding it).
CHILD = """
import importlib, importlib.abc, json, sys

class NoSpark(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyspark", "py4j"):
            raise ModuleNotFoundError(f"No module named {name!r} (refused)", name=name)
        return None

sys.meta_path.insert(0, NoSpark())
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            importlib.import_module(name.rpartition(".")[0])  # ``from module import name``
    except Exception as e:
        failed[name] = f"{type(e).__name__}: {e}"
print(json.dumps(failed))
"""


def imported_by(path: Path) -> set[str]:
    """The names of our packages ``path`` imports, wherever the import is written."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"}
    return {n for n in names if n.split(".")[0] in OURS}


def import_without_pyspark(names: set[str]) -> dict[str, str]:
    """``{name: error}`` of each of ``names`` that does not import with pyspark refused."""
    path = os.pathsep.join([str(ROOT / "lib"), str(TESTS), str(ROOT / "bench")])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(sorted(names))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_what_the_unit_tests_import_imports_no_pyspark():
    names = set().union(*(imported_by(p) for p in UNIT.glob("*.py")))
    assert {
        "profilepipe.pipeline.report.Counts",
        "profilepipe.pipeline.stream",
        "profilepipe_bench.report",
    } <= names
    modules = {".".join(n.split(".")[:2]) if n.startswith("support.") else n for n in names}
    failed = import_without_pyspark(modules)
    assert not failed, "these need pyspark at import time, which the unit tier has not:\n" + "\n".join(
        f"{name}: {error}" for name, error in sorted(failed.items())
    )


def test_the_refusal_is_real():
    """A module that does import pyspark at the top fails in the child (so the check above can fail)."""
    assert Path(profilepipe.__file__).parent.joinpath("pipeline", "transform.py").is_file()
    failed = import_without_pyspark({"profilepipe.pipeline.transform", "profilepipe.contract"})
    assert list(failed) == ["profilepipe.pipeline.transform"]
    assert "pyspark" in failed["profilepipe.pipeline.transform"]
