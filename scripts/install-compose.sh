#!/usr/bin/env bash
# Install the `docker compose` CLI plugin when it is missing, so the tests can run
# `docker compose config` on docker-compose.yml even on a machine without a Docker
# engine. It is built from its Go module (needs Go); the daemon is never needed.
set -euo pipefail
VERSION="${COMPOSE_VERSION:-v2.40.3}"
if docker compose version >/dev/null 2>&1; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-compose: Go is not installed; cannot build the docker compose plugin" >&2
  exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/.cache/compose-build"
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$work" "$plugins"
cd "$work"
echo "install-compose: building docker compose $VERSION (a few minutes the first time)"
start=$(date +%s)
rm -f go.mod go.sum
go mod init profilepipe-compose-build >/dev/null 2>&1
go get "github.com/docker/compose/v2/cmd@$VERSION" >/dev/null 2>&1
go build -o "$plugins/docker-compose" github.com/docker/compose/v2/cmd
echo "install-compose: $("$plugins/docker-compose" version) in $(( $(date +%s) - start ))s"
