#!/usr/bin/env bash
# Idempotent set-up: virtualenv, pinned packages, the project (editable), the Jupyter
# kernel, the jars of the local stack (resolved by Maven into .cache/jars) and FerretDB
# (built by Go from its module into .cache/ferretdb/<version>/, version in stack/ferretdb/VERSION;
# a Go too old for it fetches the one it needs into .cache/go-toolchain/).
# The three (pip, Maven, Go) are independent and run side by side, each in its own process
# group with its output in .cache/setup/<step>.log; each prints one line when it ends, and the
# set-up waits for all of them and fails (exit 1) if any did, with that step's output.
# Re-running it is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${PROFILEPIPE_VENV:-.venv}"

[ "${1:-}" = "--python-packages" ] || bash scripts/prereqs.sh  # Java 17, Maven, make, Chromium: installed as root, else named

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
if [ "${1:-}" = "--python-packages" ]; then  # the pip step, run by the set-up below
  start=$(date +%s)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name profilepipe --display-name "Python (profilepipe)" >/dev/null
  rm -f "$VENV"/.profilepipe-installed-*
  touch "$stamp"
  echo "setup: Python packages installed in $(( $(date +%s) - start ))s"
  exit 0
fi

logs=.cache/setup
mkdir -p "$logs"
declare -A step_of=()  # pid -> step name
start_step() {  # start_step NAME COMMAND...: in the background, in a process group of its own
  local name=$1; shift
  if command -v setsid >/dev/null 2>&1; then set -- setsid "$@"; fi
  "$@" </dev/null >"$logs/$name.log" 2>&1 &
  step_of[$!]=$name
}
stop_steps() {  # on Ctrl-C or kill: stop what still runs (Maven, go build), then leave
  trap - INT TERM
  for pid in "${!step_of[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  echo "setup: interrupted" >&2
  exit 130
}
trap stop_steps INT TERM

if [ -f "$stamp" ]; then
  echo "setup: Python packages up to date"
else
  echo "setup: installing Python packages, jars and FerretDB side by side (first time: a few minutes; logs in $logs/)"
  start_step python bash "$0" --python-packages
fi
# jars, then FerretDB (without Go: a note while PROFILEPIPE_MONGO_SERVER=java, else an error);
# they need only the standard library, so they start before pip has installed the project
for step in jars ferretdb; do
  start_step "$step" env PYTHONPATH="$PWD/lib" "$VENV/bin/python" -m profilepipe_stack.fetch "$step"
done

failed=()
while [ ${#step_of[@]} -gt 0 ]; do
  rc=0 pid=
  wait -n -p pid "${!step_of[@]}" || rc=$?
  [ -n "${pid:-}" ] || break
  name=${step_of[$pid]}
  unset "step_of[$pid]"
  if [ "$rc" -eq 0 ]; then
    tail -n 1 "$logs/$name.log"
  else
    failed+=("$name")
    echo "error: set-up step $name failed (exit $rc); its output ($logs/$name.log):" >&2
    tail -n 40 "$logs/$name.log" | sed 's/^/  /' >&2
  fi
done
trap - INT TERM
if [ ${#failed[@]} -gt 0 ]; then
  echo "error: set-up failed: ${failed[*]} (see above)" >&2
  exit 1
fi
