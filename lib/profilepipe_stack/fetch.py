"""One build step of the set-up as a process: ``python -m profilepipe_stack.fetch jars|ferretdb``.

``scripts/setup.sh`` runs the two beside ``pip install``, so neither waits for the Python
packages: this module, and what it imports (:mod:`~profilepipe_stack.stack` and its
parts), needs only the standard library (``PYTHONPATH=lib`` before the project is installed;
the unit tests check it). Each prints its lines as it goes, the last one sums the step up;
exit status 2 with ``error: ...`` on stderr when the step fails.
"""

from __future__ import annotations

import sys

from profilepipe.config import get_settings
from profilepipe.errors import StackError
from profilepipe_stack.stack import FETCH_STEPS, fetch_step


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in FETCH_STEPS:
        print(f"usage: python -m profilepipe_stack.fetch {{{','.join(FETCH_STEPS)}}}", file=sys.stderr)
        return 2
    try:
        fetch_step(args[0])(get_settings(), echo=lambda line: print(line, flush=True))
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
