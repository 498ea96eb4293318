"""One error hierarchy: every exception class of the packages (the pipeline's and the local
stack's) is defined in ``profilepipe.errors``, derives from ``ProfilepipeError`` and is drawn in
its docstring; the CLI turns any of them into one line and the exit code docs/command-line.md promises."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import profilepipe
import profilepipe_stack
from profilepipe import cli, errors
from profilepipe.errors import AuditFindings, ProfilepipeError, StackError, UndeliveredError
from profilepipe.kafka_client import ProduceSummary

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


def _error_classes() -> list[type]:
    return [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == errors.__name__
    ]


def test_the_errors_module_draws_each_class_and_documents_it_in_one_line():
    tree = errors.__doc__
    for cls in _error_classes():
        assert issubclass(cls, ProfilepipeError), cls
        assert f" {cls.__name__} " in tree, f"{cls.__name__} is missing from the tree in errors.py"
        doc = cls.__dict__.get("__doc__") or ""
        assert doc and "\n" not in doc.strip(), f"{cls.__name__} needs a one-line docstring"


def test_undelivered_messages_are_still_a_connection_error_for_the_retries():
    assert issubclass(UndeliveredError, ConnectionError)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ProfilepipeError("the topic users does not exist: run `profilepipe stack up`"), 2),
        (StackError("cassandra: not healthy after 240s"), 2),
        (AuditFindings("the audit found 1 plaintext personal value(s)"), 3),
        (UndeliveredError(ProduceSummary(topic="users", failed=1, errors=["KafkaTimeoutError"])), 1),
    ],
)
def test_main_prints_our_error_as_one_line_with_its_exit_code(monkeypatch, capsys, error, code):
    def fails(_args):
        raise error

    monkeypatch.setattr(cli, "cmd_reset", fails)
    assert cli.main(["reset"]) == code
    out, err = capsys.readouterr()
    assert err == f"error: {error}\n" and "\n" not in str(error) and out == ""


def test_an_error_that_is_not_ours_still_shows_its_traceback(monkeypatch):
    def fails(_args):
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "cmd_reset", fails)
    with pytest.raises(KeyError):
        cli.main(["reset"])
