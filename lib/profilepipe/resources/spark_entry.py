"""spark-submit's Python file: ``profilepipe stream`` with the options given after it.

A script, not a module: nothing imports it (``tools.submit.command`` names its path).
It sits in ``resources/`` because spark-submit puts the script's own folder first on
``sys.path``, and this folder holds no module that could then shadow another.
"""

import sys

from profilepipe import cli

if __name__ == "__main__":
    sys.exit(cli.main(["stream", *sys.argv[1:]]))
