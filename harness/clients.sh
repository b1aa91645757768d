#!/usr/bin/env bash
# Test-only: the application client libraries that tests/e2e/clients.test.ts
# runs against a deployed cluster, installed into the cache.
#
# Usage: harness/clients.sh [--print-paths]
#
#   (no option)     ensure both are there; the last stdout line is the paths (JSON, below)
#   --print-paths   print {"python": <venv's python>, "goRedis": <binary>} and exit:
#                   builds nothing, so a test can name what is missing
#
# What:
#   clients/python-<hash>/     a venv of Debian's /usr/bin/python3 with the pinned packages of
#                              tests/e2e/clients/python/requirements.txt (redis-py, Celery and
#                              what they pull in) from PyPI; <hash>: that file and the Python version
#   clients/go-redis-<hash>/   the program in tests/e2e/clients/go-redis (go-redis FailoverClient),
#                              its modules from the Go module proxy checked against its go.sum;
#                              <hash>: its go.mod, go.sum and .go files and the Go version
# under $SENTINEL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi).
# A changed input makes a new directory next to the old one rather than
# replacing it: another clone of the project may still be using the old one.
# Progress goes to stderr.
set -euo pipefail

log() { printf 'clients: %s\n' "$*" >&2; }

PRINT_PATHS=0
case ${1:-} in
  --print-paths) PRINT_PATHS=1 ;;
  "") ;;
  *) log "unknown option: $1"; exit 1 ;;
esac

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${SENTINEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi}
CLIENTS=$CACHE_ROOT/clients
PY_SRC=$ROOT/tests/e2e/clients/python
GO_SRC=$ROOT/tests/e2e/clients/go-redis
# Debian's Python (python3-venv), not whatever python3 comes first on PATH.
PY=/usr/bin/python3
# Never let go fetch a toolchain (a prebuilt binary): fail instead.
export GOTOOLCHAIN=local

py_key=$({ cat "$PY_SRC/requirements.txt"; "$PY" --version; } | sha256sum | cut -c1-16)
go_key=$({ cd "$GO_SRC" && sha256sum go.mod go.sum ./*.go; go env GOVERSION GOOS GOARCH; } | sha256sum | cut -c1-16)
VENV=$CLIENTS/python-$py_key
GO_BIN=$CLIENTS/go-redis-$go_key/go-redis-client

paths() {
  "$PY" -c 'import json, sys; print(json.dumps({"python": sys.argv[1], "goRedis": sys.argv[2]}))' "$VENV/bin/python" "$GO_BIN"
}
if ((PRINT_PATHS)); then paths; exit 0; fi

mkdir -p "$CLIENTS"
# Two clones running setup at once build each thing once.
exec 9>"$CLIENTS/.lock"
flock 9

# The stamp is written last: a venv without it was interrupted and is made again.
if [[ ! -f $VENV/.complete ]]; then
  log "installing the Python clients into $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  # --no-deps: exactly the pinned set; pip check then proves it is complete.
  "$VENV/bin/pip" install --disable-pip-version-check --no-input --quiet --no-deps -r "$PY_SRC/requirements.txt"
  "$VENV/bin/pip" check --disable-pip-version-check >&2
  touch "$VENV/.complete"
fi

if [[ ! -x $GO_BIN ]]; then
  log "building the go-redis client into $GO_BIN"
  tmp=$(mktemp -d "$CLIENTS/.go-build.XXXXXX")
  go -C "$GO_SRC" build -mod=readonly -trimpath -buildvcs=false -o "$tmp/go-redis-client" .
  mkdir -p "$(dirname "$GO_BIN")"
  mv "$tmp/go-redis-client" "$GO_BIN"
  rmdir "$tmp"
fi

paths
