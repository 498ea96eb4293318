#!/usr/bin/env bash
# The MongoDB-relevant integration tests against the MongoDB-compatible server that is NOT the
# configured one (PROFILEPIPE_MONGO_SERVER=ferretdb -> java, java -> ferretdb), started beside the
# running stack on its own port and stack dir, stopped at the end. Kafka and Cassandra are the
# running stack's (`make up` first). Bounded: five test files, at most MONGO_ALT_TIMEOUT seconds.
#   MONGO_ALT=ferretdb|java  MONGO_ALT_PORT=27018  MONGO_ALT_TIMEOUT=2400  (pytest arguments follow)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${PROFILEPIPE_VENV:-.venv}/bin"

default="$("$BIN/python" -c 'from profilepipe.config import get_settings; print(get_settings().mongo_server)')"
alt="${MONGO_ALT:-$([ "$default" = ferretdb ] && echo java || echo ferretdb)}"
export PROFILEPIPE_MONGO_SERVER="$alt"
export PROFILEPIPE_MONGO_URI="mongodb://127.0.0.1:${MONGO_ALT_PORT:-27018}"
export PROFILEPIPE_STACK_DIR="${MONGO_ALT_STACK_DIR:-.stack/mongo-$alt}"

echo "test-mongo-alt: $alt on $PROFILEPIPE_MONGO_URI (stack dir $PROFILEPIPE_STACK_DIR)"
"$BIN/profilepipe" stack up mongo
trap '"$BIN/profilepipe" stack down mongo' EXIT
timeout "${MONGO_ALT_TIMEOUT:-2400}" "$BIN/pytest" -p no:cacheprovider \
  tests/integration/test_pipeline.py tests/integration/test_erasure.py \
  tests/integration/test_audit_stores.py tests/integration/test_bad_input_stream.py \
  tests/integration/test_dashboard_browser.py "$@"
