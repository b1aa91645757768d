#!/usr/bin/env bash
# Build the Pulumi engine from Go modules and cache it outside the repository.
#
# Usage: harness/engine.sh [--print-bin-dir] [--check] [--force]
#
#   (no option)      ensure the cached engine is built and the stand-in providers
#                    (command, docker) are registered; the last stdout line is
#                    the bin dir
#   --print-bin-dir  print the bin dir and exit (builds nothing)
#   --check          after ensuring the build, run `pulumi version` and
#                    `pulumi plugin ls` with the engine's PULUMI_HOME
#   --force          rebuild even when the cache is up to date
#
# What gets built (versions: harness/versions.env, modules: harness/engine/*/go.mod):
#   bin/pulumi                          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi (harness/engine/cli)
#   bin/pulumi-language-nodejs          the Node.js language host (harness/engine/nodejs)
#   bin/pulumi-resource-pulumi-nodejs   upstream's dynamic-provider shim script, copied
#                                       from the sdk/v3 module that the CLI build uses
#   providers/pulumi-resource-command   a stand-in for the command provider (harness/engine/command),
#                                       then `pulumi plugin install resource command <ver> --file`
#   providers/pulumi-resource-docker    a stand-in for the docker provider (harness/engine/docker),
#                                       then `pulumi plugin install resource docker <ver> --file`
#
# The command provider: @pulumi/command asks the engine for the resource plugin
# "command" at COMMAND_PROVIDER_VERSION. The real provider's Go module is not
# served by the module proxy here, so this test engine registers our own
# stand-in under that name and version instead (harness/engine/command: remote.Command
# and remote.CopyToRemote; its README.md lists the differences). Outside this
# engine, pulumi installs the real provider the usual way.
#
# The docker provider likewise: @pulumi/docker asks for "docker" at
# DOCKER_PROVIDER_VERSION, whose Go module is refused by the module proxy; the
# stand-in (harness/engine/docker: Image with builder V1, RemoteImage, Network,
# Volume, Container, talking to dockerd through the Docker Engine API client)
# is registered under that name and version. Its README.md lists the differences.
#
# Layout: $SENTINEL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi)
#   engine/<PULUMI_VERSION>/bin        the binaries (put first on PATH by harness/pulumi-env.sh)
#   engine/<PULUMI_VERSION>/providers  the built stand-in providers, kept off PATH: pulumi
#                                      would use (and warn about) a plugin found on PATH
#   engine/<PULUMI_VERSION>/home       PULUMI_HOME (plugins, credentials, workspaces)
#   engine/<PULUMI_VERSION>/stamps     one file per binary: hash of its build inputs
# A binary is rebuilt only when its inputs change (go.mod, go.sum, version, ldflags,
# Go version; for the stand-in providers also their own sources), so a second run
# takes seconds. Go's own module and build caches ($GOMODCACHE, $GOCACHE) are
# used as usual.
#
# Environment:
#   SENTINEL_CACHE   cache root (see above)
#
# Exit codes: 0 ok, 1 error. Progress goes to stderr. Nothing here downloads a
# prebuilt binary: Go modules come through the module proxy ($GOPROXY) and are
# checked against the committed go.sum files; GOTOOLCHAIN=local keeps go from
# fetching a toolchain.
set -euo pipefail

log() { printf 'engine: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; }

PRINT_BIN_DIR=0 CHECK=0 FORCE=0
while [ $# -gt 0 ]; do
  case $1 in
    --print-bin-dir) PRINT_BIN_DIR=1 ;;
    --check) CHECK=1 ;;
    --force) FORCE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown option: $1" ;;
  esac
  shift
done

# This script lives in harness/, next to versions.env and the engine/ modules.
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=harness/versions.env
. "$SCRIPT_DIR/versions.env"

CACHE_ROOT=${SENTINEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi}
ENGINE_DIR=$CACHE_ROOT/engine/$PULUMI_VERSION
BIN_DIR=$ENGINE_DIR/bin
PROVIDER_DIR=$ENGINE_DIR/providers
STAMP_DIR=$ENGINE_DIR/stamps
export PULUMI_HOME=$ENGINE_DIR/home

if [ "$PRINT_BIN_DIR" = 1 ]; then
  printf '%s\n' "$BIN_DIR"
  exit 0
fi

CLI_MOD=$SCRIPT_DIR/engine/cli
NODEJS_MOD=$SCRIPT_DIR/engine/nodejs
COMMAND_MOD=$SCRIPT_DIR/engine/command
DOCKER_MOD=$SCRIPT_DIR/engine/docker
VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

command -v go >/dev/null 2>&1 || die "go not found on PATH (needs the version named in harness/engine/*/go.mod)"
# Never let go download a toolchain (a prebuilt binary); fail instead.
export GOTOOLCHAIN=local
GO_ID=$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')

mkdir -p "$BIN_DIR" "$PROVIDER_DIR" "$STAMP_DIR" "$PULUMI_HOME"
exec 9>"$ENGINE_DIR/.lock"
if ! flock -n 9; then
  log "waiting for another engine.sh run to finish ..."
  flock 9
fi
TMP_FILES=()
cleanup() { [ ${#TMP_FILES[@]} -eq 0 ] || rm -rf -- "${TMP_FILES[@]}"; }
trap cleanup EXIT

# require_version MODDIR MODULE VERSION: the go.mod in MODDIR must require
# MODULE at exactly VERSION, so versions.env and go.mod cannot drift apart.
require_version() {
  local got
  got=$(awk -v m="$2" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$1/go.mod")
  [ "$got" = "$3" ] ||
    die "$1/go.mod requires $2 ${got:-<nothing>}, harness/versions.env says $3: update one of them (then go mod tidy)"
}

# inputs_hash NAME MODDIR EXTRA...: hash of everything a build depends on.
inputs_hash() {
  local name=$1 moddir=$2
  shift 2
  {
    printf '%s\n' "$name" "$GO_ID" "$@"
    cat "$moddir/go.mod" "$moddir/go.sum"
  } | sha256sum | cut -d' ' -f1
}

# sources_hash MODDIR: hash of a module's own sources (names and contents of
# the non-test .go files and of the files they embed), for modules built from
# code of ours rather than only from required modules.
sources_hash() {
  (
    cd -- "$1" &&
      find . -type f \( -name '*.go' ! -name '*_test.go' -o -name '*.json' \) -print |
      LC_ALL=C sort | while IFS= read -r f; do
        printf '%s\n' "$f"
        sha256sum <"$f"
      done
  ) | sha256sum | cut -d' ' -f1
}

up_to_date() { # NAME HASH [DIR, default $BIN_DIR]
  [ "$FORCE" = 0 ] && [ -x "${3:-$BIN_DIR}/$1" ] && [ -f "$STAMP_DIR/$1" ] &&
    [ "$(cat "$STAMP_DIR/$1")" = "$2" ]
}

# go_build NAME MODDIR PACKAGE LDFLAGS [DIR]: build DIR/NAME (default DIR:
# $BIN_DIR) into a temp file, then move it into place, so an interrupted build
# never leaves a half-written binary.
go_build() {
  local name=$1 moddir=$2 pkg=$3 ldflags=$4 dir=${5:-$BIN_DIR} tmp start
  tmp=$(mktemp "$dir/.$name.XXXXXX")
  TMP_FILES+=("$tmp")
  start=$SECONDS
  log "building $name from $pkg (this takes minutes on a cold cache) ..."
  go -C "$moddir" build -mod=readonly -trimpath -buildvcs=false \
    -ldflags "$ldflags" -o "$tmp" "$pkg"
  chmod 0755 "$tmp"
  mv -f -- "$tmp" "$dir/$name"
  log "built $name in $((SECONDS - start))s"
}

# --- Pulumi CLI --------------------------------------------------------------
require_version "$CLI_MOD" github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION"
cli_ldflags="-s -w -X $VERSION_VAR=v$PULUMI_VERSION"
cli_hash=$(inputs_hash pulumi "$CLI_MOD" "$cli_ldflags")
if up_to_date pulumi "$cli_hash" && [ -x "$BIN_DIR/pulumi-resource-pulumi-nodejs" ]; then
  log "pulumi v$PULUMI_VERSION is up to date"
else
  rm -f -- "$STAMP_DIR/pulumi"
  go_build pulumi "$CLI_MOD" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$cli_ldflags"
  # The release tarballs ship this shim next to the CLI; it runs @pulumi/pulumi's
  # dynamic provider host, which nodejs dynamic providers need.
  sdk_dir=$(go -C "$CLI_MOD" list -mod=readonly -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
  if [ -z "$sdk_dir" ] || [ ! -f "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" ]; then
    die "pulumi-resource-pulumi-nodejs not found in the sdk/v3 module (${sdk_dir:-not downloaded})"
  fi
  install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$BIN_DIR/"
  printf '%s\n' "$cli_hash" >"$STAMP_DIR/pulumi"
fi

# --- Node.js language host ---------------------------------------------------
require_version "$NODEJS_MOD" "$NODEJS_LANGHOST_MODULE" "v$NODEJS_LANGHOST_VERSION"
nodejs_ldflags="-s -w -X $VERSION_VAR=v$NODEJS_LANGHOST_VERSION"
nodejs_hash=$(inputs_hash pulumi-language-nodejs "$NODEJS_MOD" "$nodejs_ldflags" "$NODEJS_LANGHOST_PACKAGE")
if up_to_date pulumi-language-nodejs "$nodejs_hash"; then
  log "pulumi-language-nodejs v$NODEJS_LANGHOST_VERSION is up to date"
else
  rm -f -- "$STAMP_DIR/pulumi-language-nodejs"
  go_build pulumi-language-nodejs "$NODEJS_MOD" "$NODEJS_LANGHOST_PACKAGE" "$nodejs_ldflags"
  printf '%s\n' "$nodejs_hash" >"$STAMP_DIR/pulumi-language-nodejs"
fi

# --- stand-in resource providers ----------------------------------------------
# stand_in NAME VERSION MODDIR: build <providers>/pulumi-resource-NAME from the
# Go module in MODDIR (its version stamped in with -X main.providerVersion),
# then register it as the plugin "resource NAME VERSION" in $PULUMI_HOME unless
# that exact binary is registered already. Rebuilt only when the module's
# go.mod/go.sum, its own sources (sources_hash), the version or Go change.
stand_in() {
  local name=$1 version=$2 moddir=$3 bin ldflags hash plugin_dir
  bin=pulumi-resource-$name
  if [ ! -f "$moddir/go.mod" ] || [ ! -f "$moddir/go.sum" ]; then
    die "$moddir/go.mod or go.sum is missing"
  fi
  # The stand-ins speak the engine's own plugin protocol version.
  require_version "$moddir" github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION"
  ldflags="-s -w -X main.providerVersion=$version"
  hash=$(inputs_hash "$bin" "$moddir" "$ldflags" "$(sources_hash "$moddir")")
  # Earlier layouts put it into bin/, where pulumi would pick it up from PATH.
  rm -f -- "$BIN_DIR/$bin"
  if up_to_date "$bin" "$hash" "$PROVIDER_DIR"; then
    log "$bin (stand-in for $name v$version) is up to date"
  else
    rm -f -- "$STAMP_DIR/$bin"
    go_build "$bin" "$moddir" "redis-sentinel-pulumi/engine/$name" "$ldflags" "$PROVIDER_DIR"
    printf '%s\n' "$hash" >"$STAMP_DIR/$bin"
  fi

  plugin_dir=$PULUMI_HOME/plugins/resource-$name-v$version
  if [ "$FORCE" = 0 ] && [ -f "$plugin_dir/$bin" ] &&
    cmp -s "$plugin_dir/$bin" "$PROVIDER_DIR/$bin" &&
    PULUMI_SKIP_UPDATE_CHECK=true "$BIN_DIR/pulumi" plugin ls 2>/dev/null |
      awk -v n="$name" -v v="$version" '$1 == n && $2 == "resource" && $3 == v { f = 1 } END { exit !f }'; then
    log "plugin resource $name v$version is registered"
  else
    log "registering plugin resource $name v$version in $PULUMI_HOME"
    PULUMI_SKIP_UPDATE_CHECK=true "$BIN_DIR/pulumi" plugin install resource "$name" \
      "$version" --file "$PROVIDER_DIR/$bin" --reinstall >&2
  fi
}

stand_in command "$COMMAND_PROVIDER_VERSION" "$COMMAND_MOD"
stand_in docker "$DOCKER_PROVIDER_VERSION" "$DOCKER_MOD"

if [ "$CHECK" = 1 ]; then
  export PATH="$BIN_DIR:$PATH" PULUMI_SKIP_UPDATE_CHECK=true \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  log "pulumi version: $(pulumi version)"
  pulumi plugin ls >&2
fi

printf '%s\n' "$BIN_DIR"
