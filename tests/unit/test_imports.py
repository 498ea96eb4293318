"""No import cycle inside the packages (``profilepipe`` and ``profilepipe_stack``), and spark-submit's
entry script runs ``profilepipe stream``.

An import counts wherever it is written (module level or inside a function, as the CLI's lazy
imports are); only ``if TYPE_CHECKING:`` blocks are left out, they never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import profilepipe
import profilepipe_stack
from profilepipe.tools import submit

PACKAGES = [Path(profilepipe.__file__).parent, Path(profilepipe_stack.__file__).parent]


def _module_files() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            parts = list(path.relative_to(package.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports (``from a import b``: ``a.b`` if a module, else ``a``)."""

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    tree = ast.parse(path.read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    found: set[str | None] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {owner(a.name) for a in node.names if a.name.startswith("profilepipe")}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("profilepipe")
        ):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else owner(node.module))
    return {m for m in found if m is not None}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                out.append(sorted([v, *component]))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_cycle():
    modules = _module_files()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert "profilepipe.tools.submit" in graph["profilepipe.cli"]  # the check sees lazy imports
    assert "profilepipe_stack.cluster" in graph["profilepipe_stack.stack"]  # and the stack's modules
    assert _cycles(graph) == []


def test_the_stores_do_not_import_the_sources():
    """Dead letters and users share the Kafka clients of ``kafka_client``, below both."""
    modules = _module_files()
    crossing = {
        (name, imported)
        for name, path in modules.items()
        if name.startswith("profilepipe.stores")
        for imported in _imports(path, modules)
        if imported.startswith("profilepipe.sources")
    }
    assert "profilepipe.kafka_client" in _imports(modules["profilepipe.stores.dead_letters"], modules)
    assert crossing == set()


def test_spark_submits_entry_script_is_no_module_and_runs_the_stream_command():
    assert submit.ENTRY.is_file() and not (submit.ENTRY.parent / "__init__.py").exists()
    assert [p.name for p in submit.ENTRY.parent.glob("*.py")] == [submit.ENTRY.name]  # shadows nothing
    done = subprocess.run(
        [sys.executable, str(submit.ENTRY), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: profilepipe stream")
