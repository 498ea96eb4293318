#!/usr/bin/env bash
# Regenerate the configuration table of README.md from config.py.
set -euo pipefail
cd "$(dirname "$0")/.."
table="$(.venv/bin/profilepipe config --markdown 2>/dev/null || profilepipe config --markdown)"
python3 - "$table" <<'PY'
import re, sys
text = open("README.md").read()
new = re.sub(r"(<!-- config:start[^>]*-->\n).*?(<!-- config:end -->)",
             lambda m: m.group(1) + sys.argv[1] + "\n" + m.group(2), text, flags=re.S)
open("README.md", "w").write(new)
PY
