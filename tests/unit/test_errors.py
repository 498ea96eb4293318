"""One error hierarchy: each class of ``profilepipe.errors`` is drawn in its docstring; the CLI
turns any of them into one line and the exit code docs/command-line.md promises. (That every
exception class of the packages is defined there imports every module: tests/spark/test_error_classes.py.)"""

from __future__ import annotations

import inspect

import pytest

from profilepipe import cli, errors
from profilepipe.errors import AuditFindings, ProfilepipeError, StackError, UndeliveredError
from profilepipe.kafka_client import ProduceSummary


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
