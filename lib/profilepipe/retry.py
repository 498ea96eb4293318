"""Bounded retries for writes to a store that may be briefly unreachable.

``call`` retries *transient* errors (a node or server restarting, a broker changing leader)
with exponential backoff, ``FIRST_DELAY`` doubling up to ``MAX_DELAY``, for at most
``settings.sink_retry_seconds``, logs each retry, then raises; errors that retrying cannot
fix (a bad statement, a missing table) raise at once. Why a retry is safe and what follows
when it gives up: docs/ARCHITECTURE.md#failure-model.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_DELAY = 0.5
MAX_DELAY = 10.0


def _transient_types() -> tuple[type[BaseException], ...]:
    """Exception classes meaning "the store is unreachable or overloaded; try again"."""
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from cassandra import OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
        from cassandra.cluster import NoHostAvailable
        from cassandra.connection import ConnectionException

        kinds += [NoHostAvailable, OperationTimedOut, Unavailable, WriteTimeout, ReadTimeout]
        kinds += [ConnectionException]
    except ImportError:  # pragma: no cover - the driver is a pinned dependency
        pass
    try:
        from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout

        kinds += [AutoReconnect, ConnectionFailure, NetworkTimeout]
    except ImportError:  # pragma: no cover
        pass
    try:
        from kafka.errors import KafkaConnectionError, KafkaTimeoutError, NoBrokersAvailable

        kinds += [KafkaConnectionError, KafkaTimeoutError, NoBrokersAvailable]
    except ImportError:  # pragma: no cover
        pass
    return tuple(kinds)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same write later can succeed (looks through ``raise ... from``)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, _transient_types()) or getattr(exc, "retriable", False):
            return True  # kafka-python marks its retriable errors with ``retriable``
        exc, seen = exc.__cause__, seen + 1
    return False


def delays(budget: float, first: float = FIRST_DELAY, cap: float = MAX_DELAY):
    """The waits between attempts: ``first``, doubling up to ``cap``, summing to at most ``budget``."""
    spent, delay = 0.0, first
    while spent + delay <= budget:
        yield delay
        spent += delay
        delay = min(delay * 2, cap)
    if budget - spent > 0.05:
        yield budget - spent


def call(fn: Callable[[], T], what: str, budget: float, echo: Callable[[str], None] | None = None) -> T:
    """``fn()``, retrying transient errors for up to ``budget`` seconds of waiting.

    ``what`` names the write in the log (``"cassandra: write 812 rows"``). ``echo``
    receives one line per retry (default: the logger and stderr, so the lines reach
    the driver's console from Spark's Python workers as well).
    """
    say = echo or _stderr
    waits = delays(budget)
    attempt = 1
    while True:
        try:
            result = fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            wait = next(waits, None)
            if wait is None:
                say(f"{what}: giving up after {attempt} attempts ({budget:.0f}s of retries): {_short(exc)}")
                raise
            say(f"{what}: attempt {attempt} failed ({_short(exc)}); retrying in {wait:.1f}s")
            time.sleep(wait)
            attempt += 1
            continue
        if attempt > 1:
            say(f"{what}: succeeded on attempt {attempt}")
        return result


class Retry:
    """One store's retry policy: ``call`` with a budget of ``budget`` seconds (a store holds one,
    built from ``settings.sink_retry_seconds``, and applies it to each of its operations)."""

    def __init__(self, budget: float, echo: Callable[[str], None] | None = None):
        self.budget = budget
        self.echo = echo

    def __call__(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()`` under this policy; ``what`` names it in the log."""
        return call(fn, what, self.budget, self.echo)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _stderr(line: str) -> None:
    if logging.getLogger().handlers:
        log.warning(line)
    else:  # no logging configured (the CLI, a Spark Python worker): straight to stderr
        print(f"profilepipe.retry: {line}", file=sys.stderr, flush=True)
