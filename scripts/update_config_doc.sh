#!/usr/bin/env bash
# Regenerate the generated tables of docs/: configuration.md (from config.py) and
# stored-fields.md (from the contract's stored fields), each between its start/end markers.
set -euo pipefail
cd "$(dirname "$0")/.."

profilepipe_out() { .venv/bin/profilepipe "$@" 2>/dev/null || profilepipe "$@"; }

fill() {  # fill PATH MARKER TEXT: replace what is between <!-- MARKER:start ...--> and <!-- MARKER:end -->
python3 - "$1" "$2" "$3" <<'PY'
import re, sys
path, marker, body = sys.argv[1:4]
text = open(path).read()
new, found = re.subn(rf"(<!-- {marker}:start[^>]*-->\n).*?(<!-- {marker}:end -->)",
                     lambda m: m.group(1) + body + "\n" + m.group(2), text, flags=re.S)
if found != 1:
    sys.exit(f"{path}: expected one {marker}:start/{marker}:end block, found {found}")
open(path, "w").write(new)
PY
}

fill docs/configuration.md config "$(profilepipe_out config --markdown)"
fill docs/stored-fields.md fields "$(profilepipe_out config --stored-fields)"
