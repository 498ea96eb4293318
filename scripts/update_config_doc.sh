#!/usr/bin/env bash
# Regenerate the generated tables of docs/: configuration.md (from config.py) and
# stored-fields.md (from the contract's stored fields).
set -euo pipefail
cd "$(dirname "$0")/.."
table="$(.venv/bin/profilepipe config --markdown 2>/dev/null || profilepipe config --markdown)"
python3 - "$table" <<'PY'
import re, sys
path = "docs/configuration.md"
text = open(path).read()
new, found = re.subn(r"(<!-- config:start[^>]*-->\n).*?(<!-- config:end -->)",
                     lambda m: m.group(1) + sys.argv[1] + "\n" + m.group(2), text, flags=re.S)
if found != 1:
    sys.exit(f"{path}: expected one config:start/config:end block, found {found}")
open(path, "w").write(new)
PY
fields="$(.venv/bin/profilepipe config --stored-fields 2>/dev/null || profilepipe config --stored-fields)"
python3 - "$fields" <<'PY'
import re, sys
path = "docs/stored-fields.md"
text = open(path).read()
new, found = re.subn(r"(<!-- fields:start[^>]*-->\n).*?(<!-- fields:end -->)",
                     lambda m: m.group(1) + sys.argv[1] + "\n" + m.group(2), text, flags=re.S)
if found != 1:
    sys.exit(f"{path}: expected one fields:start/fields:end block, found {found}")
open(path, "w").write(new)
PY
