#!/usr/bin/env bash
# Idempotent set-up: virtualenv, pinned packages, the project (editable), the Jupyter
# kernel, the jars of the local stack (resolved by Maven into .cache/jars) and FerretDB
# (built by Go from its module into .cache/ferretdb/<version>/, version in stack/ferretdb/VERSION).
# Re-running it is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${PROFILEPIPE_VENV:-.venv}"

bash scripts/prereqs.sh  # Java 17, Maven, make, Chromium: installed as root, else named

pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  py="$(pick_python)"
  echo "setup: creating $VENV with $("$py" --version)"
  "$py" -m venv "$VENV"
fi

stamp="$VENV/.profilepipe-installed-$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing pinned Python packages (first time: a few minutes, pyspark is large)"
  start=$(date +%s)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name profilepipe --display-name "Python (profilepipe)" >/dev/null
  rm -f "$VENV"/.profilepipe-installed-*
  touch "$stamp"
  echo "setup: Python packages installed in $(( $(date +%s) - start ))s"
fi

# jars, then FerretDB (without Go: a note while PROFILEPIPE_MONGO_SERVER=java, else an error)
"$VENV/bin/profilepipe" stack fetch
