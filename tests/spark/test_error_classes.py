"""Every exception class of the packages (the pipeline's and the local stack's) is defined in
``profilepipe.errors`` and derives from ``ProfilepipeError``: every module is imported, the Spark
ones too, so this needs pyspark (the rest of the error tree's checks: tests/unit/test_errors.py)."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
from pathlib import Path

import profilepipe
import profilepipe_stack
from profilepipe import errors
from profilepipe.errors import ProfilepipeError

PACKAGE = Path(profilepipe.__file__).parent
ERRORS = Path(errors.__file__)


def _modules():
    """Every module of the pipeline's package and of the local stack's (it raises the same errors)."""
    for package in (profilepipe, profilepipe_stack):
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            yield importlib.import_module(info.name)


def _exception_bases(node: ast.ClassDef, namespace: dict) -> list[type]:
    """The bases of ``node`` that are exception classes (names resolved in its module)."""
    found = []
    for base in node.bases:
        try:
            value = eval(compile(ast.Expression(base), "<base>", "eval"), dict(namespace))  # noqa: S307
        except Exception:  # a name local to a function: not resolvable here
            continue
        if inspect.isclass(value) and issubclass(value, BaseException):
            found.append(value)
    return found


def test_every_exception_class_is_defined_in_errors_and_derives_from_the_base():
    outside, loose = [], []
    for module in _modules():
        path = Path(module.__file__)
        namespace = {**vars(builtins), **vars(module)}
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ClassDef) or not _exception_bases(node, namespace):
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}"
            if path != ERRORS:
                outside.append(where)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException):
                if value.__module__ == module.__name__ and not issubclass(value, ProfilepipeError):
                    loose.append(f"{module.__name__}.{name}")
    assert not outside, "define these in profilepipe/errors.py:\n" + "\n".join(outside)
    assert not loose, f"derive these from ProfilepipeError: {loose}"
