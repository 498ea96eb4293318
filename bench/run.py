"""Benchmark entry point: ``python bench/run.py [--quick]`` (same as ``profilepipe bench``).

Needs the stack running (``make up``). Writes ``bench/results/<date>.md``.
"""

import sys

from profilepipe.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
