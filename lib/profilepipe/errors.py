"""The project's own errors, all defined here: one base class and the tree below it.

Every error the package raises on purpose derives from ``ProfilepipeError`` and is defined
in this module (``tests/unit/test_errors.py`` fails on one defined anywhere else). The
other modules import them from here::

    ProfilepipeError                    exit code 2 (a usage or configuration error)
    ├── NotReady                        a notebook step run before the one it needs
    ├── StackError                      the local stack (start, stop, fetch, client settings)
    ├── SourceError                     the randomuser.me API gave no usable answer
    ├── ProducerError                   the Kafka producer could not start or prepare a message
    ├── UndeliveredError                Kafka did not acknowledge some messages; exit code 1
    │                                   (also a ConnectionError, so ``retry`` retries it)
    ├── PrivacyError                    the privacy settings do not allow hashing
    ├── NoRetention                     `retain` without a retention period (setting or --days)
    ├── ProfileMismatch                 the users table was made in the other storage profile
    ├── BatchError                      a micro-batch broke one of its invariants
    ├── QueryFailed                     the streaming query stopped with an error
    ├── DataLoss                        Kafka dropped offsets the stream had not read (policy
    │                                   ``stop``); exit code 3
    ├── AuditFindings                   the audit found personal data, a minor or an aggregate
    │                                   that differs from the table; exit code 3
    └── NotebookFailed                  a notebook failed under papermill; exit code 1

``cli.main`` prints the message of any of them as ``error: <message>`` (no traceback) and
exits with its ``exit_code``: the codes docs/command-line.md promises (``profilepipe run``: 1 a notebook
failed, 3 the audit found personal data or the stream lost messages, 2 a usage or configuration
error; ``profilepipe audit`` and ``profilepipe stream``: 3 on the same, like ``run``).

``NotReady`` is raised when a step is run before the step it needs (notebook 02 on an empty
topic, notebook 04 with no stored row, the live notebook with a backlog). In Jupyter it
shows as the one line that says what to run first, not as a traceback (IPython calls
``_render_traceback_``); under papermill it fails the notebook with the same line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profilepipe.kafka_client import ProduceSummary


class ProfilepipeError(Exception):
    """Base of the errors the package raises on purpose; the message says what to do."""

    #: the process exit code ``cli.main`` returns for it
    exit_code = 2


class NotReady(ProfilepipeError):
    """A step was run before the one it depends on; the message names what to run first."""

    def _render_traceback_(self) -> list[str]:  # IPython: show the message alone
        return [f"NotReady: {self}"]


class StackError(ProfilepipeError):
    """A stack operation failed; the message says what to do."""


class SourceError(ProfilepipeError):
    """The API did not give a usable answer within the configured attempts."""

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        attempts: int = 0,
        last_status: int | None = None,
        last_reason: str = "",
    ):
        super().__init__(message)
        self.url = url
        self.attempts = attempts
        self.last_status = last_status
        self.last_reason = last_reason


class ProducerError(ProfilepipeError):
    """The producer could not start or a message could not be prepared."""


class UndeliveredError(ProfilepipeError, ConnectionError):
    """Some messages were not acknowledged; ``summary.undelivered`` holds them (retry-able)."""

    exit_code = 1

    def __init__(self, summary: ProduceSummary):
        self.summary = summary
        super().__init__(
            f"{summary.failed} message(s) to {summary.topic} not delivered, e.g. {summary.errors[:2]}"
        )


class PrivacyError(ProfilepipeError):
    """The privacy settings do not allow hashing (e.g. hmac mode without a key)."""


class NoRetention(ProfilepipeError):
    """``profilepipe retain`` was run with no retention period: PROFILEPIPE_RETENTION_DAYS or --days."""


class ProfileMismatch(ProfilepipeError):
    """The users table's columns are not those of ``store_profile``; the message says what to do."""


class BatchError(ProfilepipeError):
    """A micro-batch broke one of its invariants: the balance rule, every row written, a plan complete."""


class QueryFailed(ProfilepipeError):
    """The streaming query stopped with an error; the message holds Spark's."""


class DataLoss(ProfilepipeError):
    """Offsets the stream was to read are gone from Kafka; the message names them and what to run."""

    exit_code = 3

    def __init__(self, message: str, gaps: list | None = None):
        super().__init__(message)
        self.gaps = gaps or []

    def _render_traceback_(self) -> list[str]:  # IPython: the one line, as for NotReady
        return [f"DataLoss: {self}"]


class AuditFindings(ProfilepipeError):
    """The audit found personal data, a minor or a wrong aggregate (``run`` and ``audit`` exit 3)."""

    exit_code = 3


class NotebookFailed(ProfilepipeError):
    """A notebook failed under papermill; ``ename`` is the class of the error raised in it."""

    exit_code = 1

    def __init__(self, message: str, ename: str = ""):
        super().__init__(message)
        self.ename = ename
