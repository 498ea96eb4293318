"""Bounded retries: which errors are retried, how long the waits are, when it gives up."""

from __future__ import annotations

import pytest
from cassandra.cluster import NoHostAvailable
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from pymongo.errors import AutoReconnect, OperationFailure

from profilepipe import kafka_client, retry
from profilepipe.errors import ProducerError, UndeliveredError


def test_waits_double_up_to_the_cap_and_sum_to_the_budget():
    assert list(retry.delays(8.0)) == [0.5, 1.0, 2.0, 4.0, 0.5]
    waits = list(retry.delays(180.0))
    assert waits[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0] and max(waits) == 10.0
    assert sum(waits) == pytest.approx(180.0)
    assert list(retry.delays(0.0)) == []


@pytest.mark.parametrize(
    "exc",
    [
        NoHostAvailable("down", {}),
        AutoReconnect("mongo restarting"),
        KafkaTimeoutError(),
        ConnectionRefusedError(),
        TimeoutError(),
    ],
)
def test_unreachable_stores_are_transient(exc):
    assert retry.is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [ValueError("bad row"), OperationFailure("unauthorized"), MessageSizeTooLargeError(), KeyError("x")],
)
def test_errors_a_retry_cannot_fix_are_not(exc):
    assert not retry.is_transient(exc)


def test_a_wrapped_cause_counts():
    try:
        try:
            raise ConnectionRefusedError("kafka down")
        except ConnectionRefusedError as inner:
            raise ProducerError("cannot connect to Kafka") from inner
    except ProducerError as outer:
        assert retry.is_transient(outer)


def test_call_retries_until_it_succeeds_and_says_so(monkeypatch):
    monkeypatch.setattr(retry.time, "sleep", lambda _s: None)
    attempts, lines = [], []

    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise AutoReconnect("connection refused")
        return "ok"

    assert retry.call(flaky, "mongodb: merge", budget=30, echo=lines.append) == "ok"
    assert len(attempts) == 3
    assert lines[0].startswith("mongodb: merge: attempt 1 failed (AutoReconnect: connection refused)")
    assert "retrying in 0.5s" in lines[0] and "retrying in 1.0s" in lines[1]
    assert lines[-1] == "mongodb: merge: succeeded on attempt 3"


def test_call_gives_up_after_the_budget(monkeypatch):
    slept = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    lines = []

    def down():
        raise NoHostAvailable("Unable to complete the operation against any hosts", {})

    with pytest.raises(NoHostAvailable):
        retry.call(down, "cassandra: write 10 rows", budget=5, echo=lines.append)
    assert sum(slept) == pytest.approx(5.0)
    assert "giving up after" in lines[-1]


def test_call_does_not_retry_a_permanent_error(monkeypatch):
    monkeypatch.setattr(retry.time, "sleep", lambda _s: pytest.fail("must not wait"))
    with pytest.raises(ValueError):
        retry.call(lambda: (_ for _ in ()).throw(ValueError("bad")), "x", budget=60, echo=print)


def test_undelivered_messages_are_a_retriable_error_that_names_them():
    summary = kafka_client.ProduceSummary(topic="users.dlq", failed=2, errors=["KafkaTimeoutError: x"])
    summary.undelivered = [(b"k1", b"v1"), (None, b"v2")]
    err = UndeliveredError(summary)
    assert retry.is_transient(err) and err.summary.undelivered[0] == (b"k1", b"v1")
    assert "2 message(s) to users.dlq not delivered" in str(err)
