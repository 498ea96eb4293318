"""The project's own errors: one base class, and what a notebook shows when run out of order.

Every error the package raises on purpose derives from ``ProfilepipeError``; the CLI prints
its message as one line and exits 2 (``cli.main``).

``NotReady`` is raised when a step is run before the step it needs (notebook 02 on an empty
topic, notebook 04 with no stored row, the live notebook with a backlog). In Jupyter it
shows as the one line that says what to run first, not as a traceback (IPython calls
``_render_traceback_``); under papermill it fails the notebook with the same line.
"""

from __future__ import annotations


class ProfilepipeError(Exception):
    """Base of the errors the package raises on purpose; the message says what to do."""


class NotReady(ProfilepipeError):
    """A step was run before the one it depends on; the message names what to run first."""

    def _render_traceback_(self) -> list[str]:  # IPython: show the message alone
        return [f"NotReady: {self}"]
