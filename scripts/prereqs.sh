#!/usr/bin/env bash
# The system packages the project needs, checked first by `make setup` (so by `make run`
# and `make test`): Java 17, Maven and make to run, Chromium and ChromeDriver for the
# browser tests. As root they are installed with apt-get; otherwise a missing one that
# the run needs stops the set-up with the one command that installs it, and a missing
# browser is named (only the browser tests need it). Go is checked where FerretDB is built.
set -euo pipefail

need_run=() need_test=()
if ! ls -d /usr/lib/jvm/*17* >/dev/null 2>&1 && ! java -version 2>&1 | grep -q '"17\.'; then
  need_run+=(openjdk-17-jdk-headless)
fi
command -v mvn >/dev/null 2>&1 || need_run+=(maven)
command -v make >/dev/null 2>&1 || need_run+=(make)
[ -x /usr/bin/chromium ] || need_test+=(chromium)
[ -x /usr/bin/chromedriver ] || need_test+=(chromium-driver)
missing=("${need_run[@]}" "${need_test[@]}")
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
if [ ${#need_run[@]} -gt 0 ]; then
  echo "error: missing ${need_run[*]}; install with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "setup: note: the browser tests need ${need_test[*]}: sudo apt-get install ${need_test[*]}" >&2
