"""The import graph keeps its layers: the pipeline, the read side, the tools around them, the local
stack, the bench.

Every module under ``lib/`` is parsed (no import runs) and every import counts wherever it is
written: at the top, inside a function (the CLI's lazy imports), or as
``importlib.import_module("...")`` with a literal name. The rules:

* nothing in ``profilepipe`` imports ``profilepipe_stack`` (``lib/profilepipe_stack``) except the
  CLI and the tools in :data:`STACK_USERS`, each with its reason;
* ``profilepipe.pipeline`` imports nothing from the read side (``profilepipe.analysis``),
  ``profilepipe.tools``, ``profilepipe_stack`` or the benchmark;
* the read side imports of the pipeline only its pure modules (:data:`PURE_PIPELINE`), and
  nothing from the tools; it may read the stores, which import neither the read side nor the
  tools (nor the pipeline but its pure modules);
* the packages import nothing from ``bench/`` (not installed) except :data:`BENCH_USERS`, and
  only inside a function, so that the package works without a checkout;
* the stack uses only the base of ``profilepipe`` (:data:`STACK_NEEDS`).

Each check names every import that breaks it (file, line, importer, what it imports), and
``test_every_check_catches_a_lazy_import`` shows each one failing on a module made up for it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import profilepipe

LIB = Path(profilepipe.__file__).resolve().parents[1]
ROOT = LIB.parent
BENCH = ROOT / "bench"
STACK = "profilepipe_stack"

#: the modules of ``profilepipe`` that may import the stack, and why
STACK_USERS = {
    "profilepipe.cli": "the `stack` and `cluster` commands",
    "profilepipe.tools.notebooks": "`profilepipe lab` starts the stack before JupyterLab",
    "profilepipe.tools.reset": "recreates the emptied topics and schema (the stack's ensure_topics/schema)",
    "profilepipe.tools.submit": "`cluster submit`: the local cluster's master URL and pyspark's spark-submit",
    "profilepipe.tools.timeline": "a notebook's designed-events topic, made with the stack's Kafka admin",
}
#: the modules of ``lib/`` that may import the benchmark (always inside a function), and why
BENCH_USERS = {
    "profilepipe.cli": "`profilepipe bench` imports bench/profilepipe_bench from the checkout",
}
#: the modules of ``profilepipe.pipeline`` the read side and the stores may import (no pyspark), and why
PURE_PIPELINE = {
    "profilepipe.pipeline.gaps": "what Kafka dropped before the stream read it (the lag's margin)",
    "profilepipe.pipeline.report": "a batch's counts and stage lines",
}
READ_SIDE = "profilepipe.analysis"
#: what the stack may import from ``profilepipe``, and why
STACK_NEEDS = {
    "profilepipe.config": "Settings and the project's folders",
    "profilepipe.errors": "StackError",
    "profilepipe.contract": "the stored fields' CQL types, for the schema",
    "profilepipe.jdk": "the one JDK 17 finder",
    "profilepipe.connections": "the stack's clients start from the pipeline's connection options",
    "profilepipe.retry": "topic creation retried while a broker has just restarted",
    "profilepipe.stores.cassandra": "ensure_schema checks the users table's storage profile",
}


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module
    name: str  # what it imports, in full (``from a import b``: ``a.b``)
    where: str  # file:line
    lazy: bool  # written inside a function

    def of(self, *prefixes: str) -> bool:
        return any(self.name == p or self.name.startswith(p + ".") for p in prefixes)

    def __str__(self) -> str:
        return f"{self.where} {self.importer} imports {self.name}{' (in a function)' if self.lazy else ''}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(LIB).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, importer: str, where: str, package: bool = False) -> list[Import]:
    """Every import of ``source`` (module ``importer``; ``package``: an ``__init__.py``)."""
    found: list[Import] = []
    base = importer if package else importer.rpartition(".")[0]

    def add(name: str, node: ast.AST, lazy: bool) -> None:
        found.append(Import(importer, name, f"{where}:{node.lineno}", lazy))

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, lazy)
        elif isinstance(node, ast.ImportFrom):
            parent = base.split(".")[: len(base.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                add(module if alias.name == "*" else f"{module}.{alias.name}", node, lazy)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = ast.unparse(node.func)
            if called in ("importlib.import_module", "import_module", "__import__"):
                add(str(node.args[0].value), node, lazy)
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(source), False)
    return found


def lib_imports() -> list[Import]:
    """The imports of every module of every package under ``lib/``."""
    out: list[Import] = []
    for path in sorted(LIB.glob("*/**/*.py")):
        if (LIB / path.relative_to(LIB).parts[0] / "__init__.py").is_file():
            where = path.relative_to(ROOT).as_posix()
            out += imports_in(path.read_text(), module_name(path), where, path.name == "__init__.py")
    return out


def bench_modules() -> set[str]:
    """What ``bench/`` makes importable: its scripts and its package."""
    return {p.stem for p in BENCH.glob("*.py")} | {p.parent.name for p in BENCH.glob("*/__init__.py")}


def in_package(imp: Import, package: str) -> bool:
    return imp.importer == package or imp.importer.startswith(package + ".")


# --------------------------------------------------------------------------- the checks
def stack_importers(imports: list[Import]) -> list[Import]:
    """Imports of the stack by ``profilepipe`` outside :data:`STACK_USERS`."""
    return [
        i for i in imports if in_package(i, "profilepipe") and i.of(STACK) and i.importer not in STACK_USERS
    ]


def pipeline_upward(imports: list[Import]) -> list[Import]:
    """Imports of the read side, the tools, the stack or the benchmark by ``profilepipe.pipeline``."""
    above = (READ_SIDE, "profilepipe.tools", STACK, *bench_modules())
    return [i for i in imports if in_package(i, "profilepipe.pipeline") and i.of(*above)]


def _impure_pipeline(imp: Import) -> bool:
    return imp.of("profilepipe.pipeline") and not imp.of(*PURE_PIPELINE)


def read_side_reaching(imports: list[Import]) -> list[Import]:
    """Imports by the read side of the tools or of the pipeline but its :data:`PURE_PIPELINE`."""
    return [
        i for i in imports if in_package(i, READ_SIDE) and (i.of("profilepipe.tools") or _impure_pipeline(i))
    ]


def stores_reaching_up(imports: list[Import]) -> list[Import]:
    """Imports by ``profilepipe.stores`` of the read side, the tools or the pipeline but its pure modules."""
    above = (READ_SIDE, "profilepipe.tools")
    return [
        i for i in imports if in_package(i, "profilepipe.stores") and (i.of(*above) or _impure_pipeline(i))
    ]


def bench_importers(imports: list[Import]) -> list[Import]:
    """Imports of ``bench/`` by ``lib/`` outside :data:`BENCH_USERS`, or at the top of a module."""
    return [i for i in imports if i.of(*bench_modules()) and (i.importer not in BENCH_USERS or not i.lazy)]


def stack_reaching_up(imports: list[Import]) -> list[Import]:
    """Imports of ``profilepipe`` by the stack outside :data:`STACK_NEEDS`."""
    return [i for i in imports if in_package(i, STACK) and i.of("profilepipe") and not i.of(*STACK_NEEDS)]


def listing(imports: list[Import]) -> str:
    return "\n".join(str(i) for i in imports)


# --------------------------------------------------------------------------- the tests
def test_the_scan_reads_both_packages_and_lazy_imports():
    imports = lib_imports()
    importers = {i.importer for i in imports}
    assert {"profilepipe.cli", "profilepipe.pipeline.spark", "profilepipe_stack.stack"} <= importers
    lazy = [i for i in imports if i.importer == "profilepipe.cli" and i.of(STACK)]
    assert lazy and all(i.lazy for i in lazy)  # the CLI's stack imports are inside its commands
    assert bench_modules() >= {"profilepipe_bench", "run", "cassandra_limit"}


def test_only_the_cli_and_the_listed_tools_import_the_stack():
    offending = stack_importers(lib_imports())
    assert not offending, f"only {sorted(STACK_USERS)} may import {STACK}:\n{listing(offending)}"


def test_every_listed_stack_user_still_imports_the_stack():
    users = {i.importer for i in lib_imports() if i.of(STACK)}
    assert set(STACK_USERS) <= users, f"no longer import {STACK}, strike them: {set(STACK_USERS) - users}"


def test_the_pipeline_imports_no_read_side_no_tool_no_stack_and_no_benchmark():
    offending = pipeline_upward(lib_imports())
    assert not offending, f"profilepipe.pipeline reaches up:\n{listing(offending)}"


def test_the_read_side_imports_only_the_pure_pipeline_and_no_tool():
    offending = read_side_reaching(lib_imports())
    assert not offending, (
        f"{READ_SIDE} may import of the pipeline only {sorted(PURE_PIPELINE)}:\n{listing(offending)}"
    )


def test_the_stores_import_neither_the_read_side_nor_the_tools():
    offending = stores_reaching_up(lib_imports())
    assert not offending, f"profilepipe.stores reaches up:\n{listing(offending)}"


def test_the_read_side_is_a_layer_of_its_own():
    imports = lib_imports()
    users = {i.importer for i in imports if i.of(READ_SIDE) and not in_package(i, READ_SIDE)}
    assert {"profilepipe.cli", "profilepipe.tools.live"} <= users  # the commands, notebook 05's view
    reads = {i.name for i in imports if in_package(i, READ_SIDE)}
    assert {"profilepipe.stores", "profilepipe.pipeline.gaps"} <= reads  # the stores, the pipeline's books


def test_the_packages_import_nothing_from_bench():
    offending = bench_importers(lib_imports())
    assert not offending, (
        f"lib/ imports bench/ (allowed: {sorted(BENCH_USERS)}, lazily):\n{listing(offending)}"
    )


def test_the_stack_uses_only_the_base_of_the_package():
    offending = stack_reaching_up(lib_imports())
    assert not offending, (
        f"{STACK} may import only {sorted(STACK_NEEDS)} of profilepipe:\n{listing(offending)}"
    )


def test_every_check_catches_a_lazy_import():
    """A made-up module of each kind, its offending import inside a function: each check names it."""

    def made_up(importer: str, body: str) -> list[Import]:
        source = "import os\n\n\ndef run():\n    " + body + "\n"
        return imports_in(source, importer, "lib/made_up.py")

    cases = [
        (stack_importers, "profilepipe.stores.made_up", "from profilepipe_stack import stack"),
        (pipeline_upward, "profilepipe.pipeline.made_up", "from profilepipe.tools import audit"),
        (pipeline_upward, "profilepipe.pipeline.made_up", "import profilepipe_stack.cluster"),
        (pipeline_upward, "profilepipe.pipeline.made_up", "from profilepipe.analysis import disclosure"),
        (read_side_reaching, "profilepipe.analysis.made_up", "from profilepipe.pipeline import transform"),
        (read_side_reaching, "profilepipe.analysis.made_up", "from profilepipe.tools import audit"),
        (stores_reaching_up, "profilepipe.stores.made_up", "from profilepipe.analysis import disclosure"),
        (stores_reaching_up, "profilepipe.stores.made_up", "from profilepipe.pipeline import batch_writer"),
        (bench_importers, "profilepipe.tools.made_up", "import profilepipe_bench"),
        (stack_reaching_up, "profilepipe_stack.made_up", "from profilepipe.pipeline import spark"),
        (
            pipeline_upward,
            "profilepipe.pipeline.made_up",
            'importlib.import_module("profilepipe.tools.reset")',
        ),
    ]
    for check, importer, body in cases:
        found = check(made_up(importer, body))
        assert [str(i) for i in found] != [], f"{check.__name__} missed: {body}"
        assert all(i.lazy and i.importer == importer and i.where == "lib/made_up.py:5" for i in found)
    top = imports_in("from profilepipe_bench import runs\n", "profilepipe.cli", "lib/profilepipe/cli.py")
    assert [str(i) for i in bench_importers(top)] == [
        "lib/profilepipe/cli.py:1 profilepipe.cli imports profilepipe_bench.runs"
    ]  # the CLI too, at the top of the module
