#!/usr/bin/env bash
# Build redis-server and redis-cli from Debian's `redis` source package
# (newest of REDIS_MAJOR: 8.x lives in sid/unstable, 7.x in bookworm) with the
# plain upstream `make`, and cache the result outside the repository.
#
# Usage: harness/build-redis.sh [--print-dir] [--install-to DIR] [--check] [--refresh]
#
#   (no option)       ensure a build exists; last stdout line is the version (e.g. 8.0.6)
#   --print-dir       print the cache directory of the built version instead
#   --install-to DIR  also copy redis-server and redis-cli into DIR (mode 0755)
#   --check           smoke-test the binaries (versions, server PING, sentinel PING)
#   --refresh         ask apt for the newest source even if a build is cached;
#                     rebuilds when the Debian source version changed
#
# Environment:
#   SENTINEL_CACHE    cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi)
#   REDIS_MAJOR       upstream major version to build (default 8; the e2e tier
#                     also builds 7 to test an upgrade)
#   REDIS_BUILD_JOBS  parallel make jobs (default: nproc)
#   REDIS_TLS         yes|no: build with TLS (BUILD_TLS=yes, against Debian's
#                     libssl-dev). Default yes for 8.x (the TLS e2e needs it), no
#                     for 7.x (the upgrade test only starts from plaintext).
#                     TLS builds are cached apart (<cache>/redis-tls), so a cached
#                     plaintext build is never taken for a TLS one; the binaries
#                     then need libssl3 on the host (Debian's openssh-server
#                     already depends on it).
#
# Only the version (or directory) goes to stdout; progress goes to stderr, so
#   ver=$(harness/build-redis.sh | tail -n1)
# works. A cached run touches neither apt nor the network.
#
# Source fetching: deb-src-only entries for sid, bookworm and bookworm-security
# are written to /etc/apt/sources.list.d/sentinel-redis-src.sources (no binary
# package ever comes from them). Debian's patches (security fixes among them) are applied
# with dpkg-source -x; the build itself is upstream's Makefile with
# BUILD_TLS=<REDIS_TLS> USE_SYSTEMD=no BUILD_WITH_MODULES=no and the bundled jemalloc,
# run without network access where the kernel allows it (unshare -n).
set -euo pipefail

REDIS_MAJOR=${REDIS_MAJOR:-8}
SRC_SOURCES=/etc/apt/sources.list.d/sentinel-redis-src.sources
OLD_SOURCES=/etc/apt/sources.list.d/sentinel-sid-src.sources   # earlier name
if [ "$REDIS_MAJOR" -ge 8 ] 2>/dev/null; then REDIS_TLS=${REDIS_TLS:-yes}; else REDIS_TLS=${REDIS_TLS:-no}; fi
case $REDIS_TLS in yes|no) ;; *) echo "build-redis: error: REDIS_TLS must be yes or no, not '$REDIS_TLS'" >&2; exit 1 ;; esac
MAKE_FLAGS=(BUILD_TLS="$REDIS_TLS" USE_SYSTEMD=no BUILD_WITH_MODULES=no)

log() { printf 'build-redis: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; }

print_dir=0 check=0 refresh=0 install_to=
while [ $# -gt 0 ]; do
  case $1 in
    --print-dir) print_dir=1 ;;
    --check) check=1 ;;
    --refresh) refresh=1 ;;
    --install-to) [ $# -ge 2 ] || die "--install-to needs a directory"; install_to=$2; shift ;;
    --install-to=*) install_to=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
  shift
done
[ -z "$install_to" ] || [ -n "${install_to// /}" ] || die "--install-to needs a directory"

home=${HOME:-}
[ -n "$home" ] || home=$(getent passwd "$(id -u)" | cut -d: -f6)
cache_base=${SENTINEL_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/redis-sentinel-pulumi}
# The cache key includes the TLS flavour: plaintext builds (and those cached
# before TLS builds existed) stay in redis/, TLS builds go to redis-tls/.
if [ "$REDIS_TLS" = yes ]; then root=$(realpath -m -- "$cache_base/redis-tls")
else root=$(realpath -m -- "$cache_base/redis"); fi

# ---------------------------------------------------------------- cleanup --
tmp_paths=() pids=()
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do
    if kill "$p" 2>/dev/null; then wait "$p" 2>/dev/null || true; fi
  done
  for p in "${tmp_paths[@]+"${tmp_paths[@]}"}"; do rm -rf -- "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------- helpers --
# Version as reported by `redis-server --version` (the X.Y.Z after v=).
server_version() {
  local out
  out=$("$1" --version 2>/dev/null) || return 1
  out=${out#*v=}
  printf '%s\n' "${out%% *}"
}

# Newest complete cached build of REDIS_MAJOR, or nothing.
latest_cached() {
  local d v best=
  [ -d "$root" ] || return 0
  for d in "$root/$REDIS_MAJOR".*; do
    v=${d##*/}
    [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || continue
    if [ ! -x "$d/redis-server" ] || [ ! -x "$d/redis-cli" ] || [ ! -f "$d/BUILDINFO" ]; then continue; fi
    best+="$v"$'\n'
  done
  [ -n "$best" ] && printf '%s' "$best" | sort -V | tail -n1
  return 0
}

buildinfo_field() { sed -n "s/^$2=//p" "$1/BUILDINFO" 2>/dev/null | head -n1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

apt_get() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -q \
    -o DPkg::Lock::Timeout=300 -o APT::Sandbox::User=root "$@"
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

wait_ping() { # cli port pid
  for _ in $(seq 1 100); do
    [ "$("$1" -h 127.0.0.1 -p "$2" ping 2>/dev/null)" = PONG ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

wait_exit() { # pid
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    sleep 0.05
  done
  kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
  return 1
}

# Start a throw-away server on a random loopback port, PING it, then start a
# sentinel (redis-server sentinel.conf --sentinel) that monitors it, PING it,
# and shut both down.
smoke_test() { # dir expected_version
  local dir=$1 want=$2 srv=$1/redis-server cli=$1/redis-cli t port sport pid spid v addr
  v=$(server_version "$srv") || die "check: $srv --version failed"
  [ "$v" = "$want" ] || die "check: redis-server reports $v, expected $want"
  log "check: $("$srv" --version)"
  v=$("$cli" --version) || die "check: redis-cli --version failed"
  [ "${v#redis-cli }" = "$want" ] || die "check: redis-cli reports '$v', expected $want"
  log "check: $v"

  t=$(mktemp -d "${TMPDIR:-/tmp}/redis-check.XXXXXX"); tmp_paths+=("$t")

  for _ in 1 2 3 4 5; do
    port=$(free_port) || die "check: no free port"
    "$srv" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize no --dir "$t" --logfile "$t/server.log" </dev/null &
    pid=$!; pids+=("$pid")
    wait_ping "$cli" "$port" "$pid" && break
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
  done
  [ -n "$pid" ] || { tail -n 20 "$t/server.log" >&2 || true; die "check: redis-server did not answer PING"; }
  log "check: redis-server on 127.0.0.1:$port answered PONG"

  for _ in 1 2 3 4 5; do
    sport=$(free_port) || die "check: no free port"
    printf '%s\n' "port $sport" "bind 127.0.0.1" "daemonize no" "dir $t" \
      "logfile $t/sentinel.log" "sentinel monitor smoke 127.0.0.1 $port 1" >"$t/sentinel.conf"
    "$srv" "$t/sentinel.conf" --sentinel </dev/null &
    spid=$!; pids+=("$spid")
    wait_ping "$cli" "$sport" "$spid" && break
    kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; spid=
  done
  [ -n "$spid" ] || { tail -n 20 "$t/sentinel.log" >&2 || true; die "check: sentinel did not answer PING"; }
  addr=$("$cli" -h 127.0.0.1 -p "$sport" sentinel get-master-addr-by-name smoke | tr '\n' ' ')
  [ "$addr" = "127.0.0.1 $port " ] || die "check: sentinel reports master '$addr', expected 127.0.0.1 $port"
  log "check: sentinel on 127.0.0.1:$sport answered PONG, monitors master 127.0.0.1:$port"

  "$cli" -h 127.0.0.1 -p "$sport" shutdown >/dev/null 2>&1 || true
  wait_exit "$spid" || die "check: sentinel did not shut down"
  "$cli" -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait_exit "$pid" || die "check: redis-server did not shut down"
  pids=()   # both have exited and been reaped: never signal those ids again
  [ ! -e "$t/dump.rdb" ] || die "check: server wrote dump.rdb despite --save ''"
  [ "$REDIS_TLS" = no ] || smoke_test_tls "$dir" "$t"
  log "check: OK"
}

# A TLS build must serve TLS: a throw-away CA and loopback certificate (openssl),
# a server with only a TLS port, PING over TLS, and a plaintext PING refused.
smoke_test_tls() { # dir tmpdir
  local srv=$1/redis-server cli=$1/redis-cli t=$2/tls port pid
  command -v openssl >/dev/null 2>&1 || die "check: openssl is needed to test a TLS build"
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=smoke-ca \
    -keyout "$t/ca.key" -out "$t/ca.crt" 2>/dev/null || die "check: openssl could not make a CA"
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$t/host.key" -out "$t/host.csr" 2>/dev/null &&
    printf 'subjectAltName=IP:127.0.0.1\n' >"$t/ext" &&
    openssl x509 -req -in "$t/host.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 1 \
      -extfile "$t/ext" -out "$t/host.crt" 2>/dev/null || die "check: openssl could not sign a certificate"
  for _ in 1 2 3 4 5; do
    port=$(free_port) || die "check: no free port"
    "$srv" --port 0 --tls-port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
      --dir "$t" --logfile "$t/server.log" --tls-cert-file "$t/host.crt" --tls-key-file "$t/host.key" \
      --tls-ca-cert-file "$t/ca.crt" --tls-auth-clients no </dev/null &
    pid=$!; pids+=("$pid")
    for _ in $(seq 1 100); do
      [ "$("$cli" --tls --cacert "$t/ca.crt" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break 2
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
  done
  [ -n "$pid" ] || { tail -n 20 "$t/server.log" >&2 || true; die "check: redis-server did not answer PING over TLS"; }
  [ "$("$cli" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != PONG ] || die "check: the TLS port answered a plaintext PING"
  log "check: redis-server on 127.0.0.1:$port (TLS only) answered PONG over TLS and refused plaintext"
  "$cli" --tls --cacert "$t/ca.crt" -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait_exit "$pid" || die "check: redis-server (TLS) did not shut down"
  pids=()
}

finish() { # version
  local v=$1 dir=$root/$1
  [ "$check" -eq 0 ] || smoke_test "$dir" "$v"
  if [ -n "$install_to" ]; then
    mkdir -p -- "$install_to"
    install -m 0755 "$dir/redis-server" "$dir/redis-cli" "$install_to/"
    log "installed redis-server and redis-cli $v into $install_to"
  fi
  if [ "$print_dir" -eq 1 ]; then printf '%s\n' "$dir"; else printf '%s\n' "$v"; fi
  exit 0
}

cached_ok() { # version -> 0 if the cached binaries report that version and flavour
  local flavour
  [ -n "$1" ] && [ "$(server_version "$root/$1/redis-server" 2>/dev/null)" = "$1" ] || return 1
  flavour=$(buildinfo_field "$root/$1" tls)
  [ "${flavour:-no}" = "$REDIS_TLS" ]   # builds from before the field are plaintext
}

# ------------------------------------------------------------- fast path --
if [ "$refresh" -eq 0 ]; then
  v=$(latest_cached)
  if cached_ok "$v"; then finish "$v"; fi
fi

# ------------------------------------------------------------- slow path --
mkdir -p -- "$root"
command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"
exec 9>"$root/.lock"
flock 9
rm -rf -- "$root"/.tmp.* "$root"/.old.*   # leftovers of interrupted runs (we hold the lock)

if [ "$refresh" -eq 0 ]; then   # another run may have built it while we waited
  v=$(latest_cached)
  if cached_ok "$v"; then finish "$v"; fi
fi

# Tools for fetching and building (binary packages come from the system's
# own suites; the entries below are deb-src only).
need=()
build_deps=(build-essential dpkg-dev pkg-config)
[ "$REDIS_TLS" = no ] || build_deps+=(libssl-dev)
for pkg in "${build_deps[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt_get update >&2 || log "warning: apt-get update reported errors"
  apt_get install -y --no-install-recommends "${need[@]}" >&2
fi

src_entries="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: sid bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
[ ! -e "$OLD_SOURCES" ] || as_root rm -f "$OLD_SOURCES"
if [ "$(cat "$SRC_SOURCES" 2>/dev/null)" != "$src_entries" ]; then
  log "writing $SRC_SOURCES (deb-src only)"
  printf '%s\n' "$src_entries" | as_root tee "$SRC_SOURCES" >/dev/null
fi
log "updating the source indexes"
apt_get update -o Dir::Etc::sourcelist="$SRC_SOURCES" -o Dir::Etc::sourceparts=- \
  -o APT::Get::List-Cleanup=0 >&2

# Newest source version whose upstream major is REDIS_MAJOR.
debver=
while read -r v; do
  up=${v#*:}; up=${up%-*}
  [ "${up%%.*}" = "$REDIS_MAJOR" ] || continue
  if [ -z "$debver" ] || dpkg --compare-versions "$v" gt "$debver"; then debver=$v; fi
done < <(apt-cache showsrc --only-source redis 2>/dev/null | sed -n 's/^Version: //p')
[ -n "$debver" ] || die "no redis $REDIS_MAJOR.x source package found (apt-cache showsrc redis)"
upver=${debver#*:}; upver=${upver%-*}
log "newest source package: redis $debver"

if cached_ok "$upver" && [ "$(buildinfo_field "$root/$upver" source_version)" = "$debver" ]; then
  log "redis $upver (source $debver) is already built"
  finish "$upver"
fi

tmp=$(mktemp -d "$root/.tmp.XXXXXX"); tmp_paths+=("$tmp")
start=$(date +%s)
log "downloading source into $tmp"
(cd "$tmp" && apt_get source --download-only "redis=$debver") >&2
dscs=("$tmp"/redis_*.dsc)
dsc=${dscs[0]}
[ -f "$dsc" ] || die "apt-get source did not produce a .dsc"
# Applies Debian's patch series (security fixes; the packaging-only patches
# touch redis.conf/sentinel.conf, not the binaries). apt already checked the
# files against the signed source index; dpkg-source checks the .dsc checksums.
(cd "$tmp" && dpkg-source -x "$dsc" src) >&2

make_flags=("${MAKE_FLAGS[@]}")
# Debian's 7.x "USE_SYSTEM_JEMALLOC" patch tests `USE_SYSTEM_JEMALLOC == yes` in the
# preprocessor, which is true whenever it is undefined, so the bundled jemalloc
# no longer links; and the system one would tie the binary to libjemalloc.so,
# which a bare host lacks. Such a source is built with libc malloc.
if grep -qs 'USE_SYSTEM_JEMALLOC == yes' "$tmp/src/src/object.c"; then
  log "this source's jemalloc patch breaks the bundled jemalloc: building with MALLOC=libc"
  make_flags+=(MALLOC=libc)
fi

jobs=${REDIS_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}
runner=()
if command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
  runner=(unshare -n)   # the build must not need the network; make sure of it
fi
log "building: make -j$jobs ${make_flags[*]} redis-server redis-cli${runner:+ (without network)} (log: $tmp/build.log)"
if ! (cd "$tmp/src/src" && "${runner[@]}" make -j"$jobs" "${make_flags[@]}" redis-server redis-cli) \
     >"$tmp/build.log" 2>&1 </dev/null; then
  tail -n 40 "$tmp/build.log" >&2
  die "make failed"
fi

out=$tmp/out
mkdir "$out"
cp "$tmp/src/src/redis-server" "$tmp/src/src/redis-cli" "$out/"
# Drop DWARF debug info (17 MB -> a few MB to ship over SSH); the symbol table
# stays, so crash reports still show function names.
strip --strip-debug "$out/redis-server" "$out/redis-cli"
chmod 0755 "$out/redis-server" "$out/redis-cli"
ver=$(server_version "$out/redis-server") || die "built redis-server does not run"
[[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "unexpected version string '$ver'"
[ "$ver" = "$upver" ] || log "warning: source is $upver but redis-server reports $ver"

cp "$tmp/build.log" "$out/build.log"
{
  echo "version=$ver"
  echo "source_package=redis"
  echo "source_version=$debver"
  echo "make_flags=${make_flags[*]}"
  echo "tls=$REDIS_TLS"
  echo "malloc=$(sed -n 's/^MALLOC=//p' "$tmp/src/src/.make-settings" 2>/dev/null)"
  echo "compiler=$(cc --version | head -n1)"
  echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "build_seconds=$(( $(date +%s) - start ))"
} >"$out/BUILDINFO"

# Test before publishing, so a broken build never lands in the cache.
smoke_test "$out" "$ver"

# Publish atomically: the version directory appears complete or not at all.
if [ -e "$root/$ver" ]; then mv -T -- "$root/$ver" "$tmp/old"; fi
mv -T -- "$out" "$root/$ver"
log "built redis $ver (source $debver) in $(( $(date +%s) - start ))s -> $root/$ver"
check=0   # already checked above
finish "$ver"
