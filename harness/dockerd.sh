#!/usr/bin/env bash
# Test-only: a private Docker daemon for the docker-stack e2e tests, started and
# stopped by the test run itself (these machines have no systemd to run the
# system one, and no registry to pull from).
#
# Usage: harness/dockerd.sh up | down | env | base-image
#
#   up          start dockerd (Debian's docker.io) on its own socket, data and
#               exec roots; idempotent
#   down        stop it and check it left nothing behind: no dockerd or
#               containerd process, no mount under its roots, no bridge
#               interface of its networks; exit 1 if something is left
#   env         print `export DOCKER_TEST_HOST=unix://...` for eval
#   base-image  import the tests' debootstrap rootfs (harness/testhosts.sh
#               builds it) as the base image the stack's Dockerfile builds FROM
#               (no image can be pulled here); prints its name. Re-imported
#               only when the rootfs changed.
#
# Flags (measured in DESIGN.md for this machine kind): --iptables=false
# --ip-forward=false --bridge=none leave the host's iptables and the nspawn test
# network alone; user-defined bridge networks still work.
#
# Environment:
#   SENTINEL_CACHE          cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi);
#                           the data root lives there so the base image survives runs
#   SENTINEL_DOCKERD_DIR    run dir for socket, pid and exec root (default /run/sentinel-dockerd)
set -euo pipefail

log() { printf 'dockerd: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

CACHE_DIR=${SENTINEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi}
RUN_DIR=${SENTINEL_DOCKERD_DIR:-/run/sentinel-dockerd}
DATA_ROOT=$CACHE_DIR/dockerd
EXEC_ROOT=$RUN_DIR/exec
SOCKET=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/docker.pid
LOGFILE=$RUN_DIR/dockerd.log
BASE_IMAGE=redis-sentinel-test-base:bookworm
ROOTFS=$CACHE_DIR/rootfs-bookworm

docker_() { docker -H "unix://$SOCKET" "$@"; }

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

up() {
  command -v dockerd >/dev/null || die "dockerd not found (apt-get install docker.io; scripts/setup.sh does)"
  mkdir -p "$RUN_DIR" "$DATA_ROOT"
  if running && docker_ version >/dev/null 2>&1; then
    log "already running (pid $(cat "$PIDFILE"))"
    return
  fi
  local start=$SECONDS
  # setsid: its own session, so the caller's Ctrl-C or job control does not reach it
  # before `down` stops it in order.
  setsid dockerd --iptables=false --ip-forward=false --bridge=none \
    --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
    -H "unix://$SOCKET" --pidfile "$PIDFILE" </dev/null >"$LOGFILE" 2>&1 &
  for _ in $(seq 1 120); do
    if docker_ version >/dev/null 2>&1; then
      log "up in $((SECONDS - start)) s (socket $SOCKET)"
      clear_leftovers
      return
    fi
    sleep 0.5
  done
  tail -n 20 "$LOGFILE" >&2 || true
  die "dockerd did not answer within 60 s (log: $LOGFILE)"
}

# The data root is kept between runs (for the base image): containers, networks and
# volumes a killed run left there are removed, so every run starts empty.
clear_leftovers() {
  local ids
  ids=$(docker_ ps -aq)
  [[ -z $ids ]] || { log "removing leftover containers: $(echo $ids)"; docker_ rm -f $ids >/dev/null; }
  docker_ network prune -f >/dev/null
  docker_ volume prune -f >/dev/null
}

# Mounts at or below a directory, deepest first.
mounts_under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r; }

down() {
  local left=() bridges=()
  if running; then
    # User-defined bridge networks appear as br-<first 12 of the network id>.
    local id
    for id in $(docker_ network ls -q --no-trunc --filter driver=bridge 2>/dev/null || true); do
      bridges+=("br-${id:0:12}")
    done
    # What the tests' destroy left (the tests check that themselves), then the daemon.
    clear_leftovers || true
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { log "dockerd ignored SIGTERM for 30 s: SIGKILL"; kill -9 "$pid" 2>/dev/null || true; }
  fi
  # A daemon killed hard can leave its containerd behind; only ours (by its exec root).
  pkill -f "containerd --config $EXEC_ROOT/" 2>/dev/null || true
  local m
  for m in $(mounts_under "$EXEC_ROOT") $(mounts_under "$DATA_ROOT"); do
    umount -l "$m" 2>/dev/null || true
  done
  # Leftover checks: what this run started must be gone.
  pgrep -f -- "--exec-root $EXEC_ROOT" >/dev/null && left+=("a dockerd process")
  pgrep -f "containerd --config $EXEC_ROOT/" >/dev/null && left+=("a containerd process")
  [[ -z $(mounts_under "$EXEC_ROOT")$(mounts_under "$DATA_ROOT") ]] || left+=("mounts under $EXEC_ROOT or $DATA_ROOT")
  local b
  for b in "${bridges[@]}"; do
    ip link show "$b" >/dev/null 2>&1 && left+=("bridge interface $b")
  done
  rm -rf -- "$RUN_DIR"
  if ((${#left[@]})); then
    log "left behind: ${left[*]}"
    return 1
  fi
  log "down; nothing left behind"
}

base_image() {
  [[ -f $ROOTFS/.testhosts-stamp ]] || die "no test rootfs at $ROOTFS (harness/testhosts.sh builds it)"
  local want have
  want=$(sha256sum <"$ROOTFS/.testhosts-stamp" | cut -c1-16)
  have=$(docker_ image inspect -f '{{index .Config.Labels "rootfs-stamp"}}' "$BASE_IMAGE" 2>/dev/null || true)
  if [[ $have != "$want" ]]; then
    local start=$SECONDS
    tar -C "$ROOTFS" --exclude=./.testhosts-stamp -c . |
      docker_ import --change "LABEL rootfs-stamp=$want" - "$BASE_IMAGE" >/dev/null
    log "imported $ROOTFS as $BASE_IMAGE in $((SECONDS - start)) s"
  fi
  printf '%s\n' "$BASE_IMAGE"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  env) printf 'export DOCKER_TEST_HOST=%q\n' "unix://$SOCKET" ;;
  base-image) base_image ;;
  *) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
esac
