#!/usr/bin/env bash
# testhosts.sh - throw-away Debian "VMs" for integration tests.
#
# Each test host is a systemd-nspawn container booting real systemd + sshd on
# an overlayfs copy of one cached Debian rootfs, in its own network namespace,
# joined to the other hosts by a private bridge. Nothing is routed or NATed:
# hosts only reach each other and the bridge address (198.18.0.0/24, a
# benchmarking range that is never routed on the internet).
#
# Usage: harness/testhosts.sh COMMAND [ARGS]   (run as root; see usage() below)
#
# Environment:
#   SENTINEL_TESTHOSTS_SET   which of four independent sets of hosts, 0-3 (default 0):
#                            set N has its own bridge, subnet 198.18.N.0/24, namespaces,
#                            veths, cgroups, nspawn machine names and run dir, so test
#                            runs in separate clones can boot hosts side by side
#                            (198.18.4.0/24 is the Docker tests' network)
#   SENTINEL_TESTHOSTS_DIR   run dir (default /run/sentinel-testhosts, set N>0:
#                            /run/sentinel-testhosts-sN)
#   SENTINEL_CACHE           cache dir for the base rootfs
#                            (default ${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi)
#   SENTINEL_ROOTFS_EXTRA_PACKAGES  extra comma-separated packages baked into the
#                            base rootfs (hosts have no internet, so anything a
#                            test needs must be in the image); changing it rebuilds
#   SENTINEL_BOOT_TIMEOUT    seconds to wait for all hosts to boot (default 90)
set -euo pipefail

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------
readonly SUITE=bookworm
readonly MIRROR=http://deb.debian.org/debian
# nftables: the partition drill cuts a host off with firewall rules on the host itself.
readonly BASE_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,iproute2,procps,sudo,nftables
readonly EXTRA_PACKAGES=${SENTINEL_ROOTFS_EXTRA_PACKAGES:-}
# Bump when customize_rootfs() changes so cached rootfs trees are rebuilt.
readonly ROOTFS_FORMAT=1

readonly CACHE_DIR=${SENTINEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi}
readonly BASE_ROOTFS=$CACHE_DIR/rootfs-$SUITE
readonly STAMP_FILE=$BASE_ROOTFS/.testhosts-stamp
readonly SET=${SENTINEL_TESTHOSTS_SET:-0}
[[ $SET =~ ^[0-3]$ ]] || { echo "testhosts: error: SENTINEL_TESTHOSTS_SET must be 0, 1, 2 or 3, got '$SET'" >&2; exit 2; }
# Set 0 keeps the names it always had; set N>0 adds "sN" to each of them.
if ((SET == 0)); then SET_TAG=""; else SET_TAG="s$SET"; fi
readonly SET_TAG
RUN_DIR=$(realpath -m -- "${SENTINEL_TESTHOSTS_DIR:-/run/sentinel-testhosts${SET_TAG:+-$SET_TAG}}")
readonly RUN_DIR
readonly BOOT_TIMEOUT=${SENTINEL_BOOT_TIMEOUT:-90}

readonly BRIDGE=sentbr$SET
readonly SUBNET_PREFIX=198.18.$SET
readonly BRIDGE_ADDR=$SUBNET_PREFIX.1
readonly NETNS_PREFIX=sentinel-${SET_TAG}h   # network namespace of host I: sentinel-hI (set 1: sentinel-s1hI)
readonly VETH_PREFIX=${SET_TAG:-sent}v       # host-side veth of host I: sentvI (set 1: s1vI; IFNAMSIZ is 16)
readonly MAX_HOSTS=50
readonly CGROUP_NAME=sentinel-testhosts${SET_TAG:+-$SET_TAG}   # per-host cgroups: <hierarchy>/sentinel-testhosts/hostI
readonly NSPAWN_RUNTIME=/run/systemd/nspawn

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
log() { printf 'testhosts: %s\n' "$*" >&2; }
die() { printf 'testhosts: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: testhosts.sh COMMAND [ARGS]
  up N         (re)create N clean hosts host1..hostN and wait until they are booted
  down         stop all hosts and remove every trace (safe to call any time)
  crash I      kill -9 host I (power loss); its disk (overlay) is kept
  stop I       shut host I down cleanly; its disk is kept
  start I      boot a crashed/stopped host I again and wait for it
  cut I        disconnect host I from the network (host-side veth down)
  heal I       reconnect host I
  ssh I [CMD]  run CMD on host I as root (no host key checking)
  status       list hosts, whether they run and whether their link is up
  env          print shell exports (TESTHOSTS_KEY, TESTHOSTS_JSON, TESTHOSTS_DIR)
  rootfs       build the cached base rootfs only (if needed) and print its path
EOF
  exit 2
}

# The paths end up in overlay mount options (',' and ':' are separators there)
# and in hosts.json (no JSON escaping done), so keep them plain.
check_paths() {
  local p
  for p in "$RUN_DIR" "$CACHE_DIR"; do
    [[ $p =~ ^/[A-Za-z0-9._/+@-]+$ ]] || die "unsupported characters in path '$p'"
  done
}

require_root() { [[ $EUID -eq 0 ]] || die "must run as root (needs mounts, netns, nspawn)"; }

host_name()  { echo "host$1"; }
# nspawn's machine name (its runtime dirs are named after it): unique across sets.
host_machine() { echo "${SET_TAG:+$SET_TAG-}host$1"; }
host_addr()  { echo "$SUBNET_PREFIX.$((10 + $1))"; }
host_netns() { echo "$NETNS_PREFIX$1"; }
host_veth()  { echo "$VETH_PREFIX$1"; }
host_dir()   { echo "$RUN_DIR/host$1"; }
host_root()  { echo "$RUN_DIR/host$1/root"; }

# True if PID is alive and is a systemd-nspawn process (guards against pid reuse).
is_nspawn_pid() {
  local pid=$1 cmd
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline) || return 1
  [[ $cmd == systemd-nspawn* || $cmd == */systemd-nspawn* ]]
}

host_pid() { cat "$(host_dir "$1")/pid" 2>/dev/null || true; }
host_running() { is_nspawn_pid "$(host_pid "$1")"; }

# Indices of hosts present in the run dir, sorted numerically.
existing_host_indices() {
  local d
  for d in "$RUN_DIR"/host*/; do
    [[ -d $d ]] || continue
    d=${d%/}; d=${d##*/host}
    [[ $d =~ ^[0-9]+$ ]] && echo "$d"
  done | sort -n
}

require_host() {
  local i=${1:-}
  [[ $i =~ ^[0-9]+$ ]] || die "host index must be a number, got '${i}'"
  [[ -d $(host_dir "$i")/root ]] || die "host$i does not exist (run 'up' first; run dir $RUN_DIR)"
}

# ---------------------------------------------------------------------------
# Dependencies and base rootfs
# ---------------------------------------------------------------------------
ensure_apt_deps() {
  local missing=()
  command -v debootstrap >/dev/null   || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v ip >/dev/null            || missing+=(iproute2)
  command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  ((${#missing[@]} == 0)) && return 0
  log "installing missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no package lists yet; update only if needed.
  apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
}

rootfs_stamp() {
  printf 'format=%s suite=%s mirror=%s packages=%s extra=%s\n' \
    "$ROOTFS_FORMAT" "$SUITE" "$MIRROR" "$BASE_PACKAGES" "$EXTRA_PACKAGES"
}

# Unmount everything at or below DIR, deepest first. debootstrap mounts /proc
# and /sys inside its target, and an interrupted build can leave them there;
# rm -rf must never descend into those.
umount_below() {
  local dir=$1 mnt
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" || log "warning: could not unmount $mnt"
  done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r)
}

# rm -rf that refuses to cross into mounted filesystems.
safe_rmtree() {
  local dir=$1
  [[ -n $dir && $dir == /*/* ]] || die "refusing to remove suspicious path '$dir'"
  [[ -e $dir ]] || return 0
  umount_below "$dir"
  rm -rf --one-file-system -- "$dir"
}

# Things common to all hosts, done once per base build (not per host/run).
customize_rootfs() {
  local root=$1
  # Non-root deploy user with passwordless sudo. '*' (not '!') as password so
  # sshd never treats the account as locked; key auth is the only way in.
  useradd --root "$root" --create-home --shell /bin/bash deploy
  usermod --root "$root" --password '*' deploy
  printf 'deploy ALL=(ALL) NOPASSWD:ALL\n' >"$root/etc/sudoers.d/deploy"
  chmod 0440 "$root/etc/sudoers.d/deploy"

  # Host keys and machine-id are generated per host, so the base has none.
  rm -f "$root"/etc/ssh/ssh_host_*
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"

  # Only an ed25519 host key (the one recorded in hosts.json), key-only login.
  cat >"$root/etc/ssh/sshd_config.d/testhosts.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
  # The hosts have no DNS; an empty resolv.conf makes lookups fail fast.
  rm -f "$root/etc/resolv.conf"
  printf '# testhosts: no DNS, use /etc/hosts\n' >"$root/etc/resolv.conf"
  rm -rf "$root"/var/cache/apt/archives/*.deb
}

# Build the base rootfs once and cache it outside the repo. Built in a temp dir
# and renamed into place, so an interrupted build is never mistaken for a good
# one; the stamp records what was built so changing the recipe rebuilds.
ensure_base_rootfs() {
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/.build.lock"
  flock 8  # one builder at a time (parallel CI jobs on one machine)
  if [[ -f $STAMP_FILE && $(cat "$STAMP_FILE") == "$(rootfs_stamp)" ]]; then
    exec 8>&-
    return 0
  fi
  local old tmp start
  for old in "$CACHE_DIR"/rootfs-"$SUITE".tmp.* "$CACHE_DIR"/rootfs-"$SUITE".old.*; do
    [[ -e $old ]] && safe_rmtree "$old"
  done
  tmp=$(mktemp -d "$CACHE_DIR/rootfs-$SUITE.tmp.XXXXXX")
  local include=$BASE_PACKAGES${EXTRA_PACKAGES:+,$EXTRA_PACKAGES}
  log "building base rootfs ($SUITE: $include) in $tmp ..."
  start=$SECONDS
  if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$tmp" "$MIRROR" >"$tmp.log" 2>&1; then
    tail -n 30 "$tmp.log" >&2
    safe_rmtree "$tmp"
    die "debootstrap failed (full log: $tmp.log)"
  fi
  customize_rootfs "$tmp"
  rootfs_stamp >"$tmp/.testhosts-stamp"
  # Rename the finished tree into place; the old tree (if any) goes aside first
  # because rename(2) cannot replace a non-empty directory.
  if [[ -e $BASE_ROOTFS ]]; then
    old="$CACHE_DIR/rootfs-$SUITE.old.$$"
    mv -T "$BASE_ROOTFS" "$old"
    mv -T "$tmp" "$BASE_ROOTFS"
    safe_rmtree "$old"
  else
    mv -T "$tmp" "$BASE_ROOTFS"
  fi
  rm -f "$tmp.log"
  log "base rootfs ready in $((SECONDS - start))s: $BASE_ROOTFS"
  exec 8>&-
}

# ---------------------------------------------------------------------------
# Per-run setup
# ---------------------------------------------------------------------------
make_run_dir() {
  mkdir -p "$RUN_DIR"
  chmod 0700 "$RUN_DIR"
  # Remember whether /run/netns existed so 'down' can remove exactly what we added.
  [[ -e /run/netns ]] || touch "$RUN_DIR/created-run-netns"
  ssh-keygen -q -t ed25519 -N '' -C "testhosts-$(date +%s)" -f "$RUN_DIR/id_ed25519"
}

# The bridge address is the guests' default gateway, but nothing arriving on
# the bridge may be routed onwards, even if the outer machine has
# net.ipv4.ip_forward=1: the per-interface flag of the input device decides.
setup_bridge() {
  ip link add "$BRIDGE" type bridge
  echo 0 >"/proc/sys/net/ipv4/conf/$BRIDGE/forwarding"
  ip addr add "$BRIDGE_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

# Netns + veth pair; the container's side is called eth0 and is configured
# from outside, so the guest needs no network manager and the config survives
# a crash/start of the container (the namespace outlives it).
setup_host_network() {
  local i=$1 ns veth
  ns=$(host_netns "$i"); veth=$(host_veth "$i")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$(host_addr "$i")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$BRIDGE_ADDR"
}

# A fresh overlay per run: writes land in upper/, the cached base stays pristine.
mount_host_overlay() {
  local i=$1 dir
  dir=$(host_dir "$i")
  mkdir -p "$dir"/{upper,work,root}
  mount -t overlay overlay \
    -o "lowerdir=$BASE_ROOTFS,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
}

install_authorized_key() {
  local root=$1 home=$2 owner=$3 pubkey=$4
  install -d -m 0700 -o "${owner%:*}" -g "${owner#*:}" "$root$home/.ssh"
  install -m 0600 -o "${owner%:*}" -g "${owner#*:}" "$pubkey" "$root$home/.ssh/authorized_keys"
}

# Identity of host I inside its overlay: names, machine-id, ssh keys.
personalize_host() {
  local i=$1 n=$2 root j deploy_ids
  root=$(host_root "$i")
  host_name "$i" >"$root/etc/hostname"
  {
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
    printf '%s\ttestbridge\n' "$BRIDGE_ADDR"
    for ((j = 1; j <= n; j++)); do printf '%s\t%s\n' "$(host_addr "$j")" "$(host_name "$j")"; done
  } >"$root/etc/hosts"
  # A unique machine-id per host, kept across crash/start like a real disk.
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
  echo >>"$root/etc/machine-id"
  ssh-keygen -q -t ed25519 -N '' -C "root@$(host_name "$i")" -f "$root/etc/ssh/ssh_host_ed25519_key"
  install_authorized_key "$root" /root 0:0 "$RUN_DIR/id_ed25519.pub"
  deploy_ids=$(awk -F: '$1 == "deploy" { print $3 ":" $4 }' "$root/etc/passwd")
  [[ -n $deploy_ids ]] || die "base rootfs has no deploy user"
  install_authorized_key "$root" /home/deploy "$deploy_ids" "$RUN_DIR/id_ed25519.pub"
  # "type base64" without comment, as callers pin it (connection.hostKey).
  cut -d' ' -f1,2 "$root/etc/ssh/ssh_host_ed25519_key.pub" >"$(host_dir "$i")/hostkey"
  printf '%s %s\n' "$(host_addr "$i")" "$(cat "$(host_dir "$i")/hostkey")" >>"$RUN_DIR/known_hosts"
}

# cgroup hierarchies nspawn and the guest's systemd use: cgroup2 ("unified")
# and, on hybrid/legacy machines, the named v1 "systemd" hierarchy.
cgroup_roots() {
  awk '$3 == "cgroup2" || ($3 == "cgroup" && $4 ~ /(^|,)name=systemd(,|$)/) { print $2 }' /proc/mounts
}

# Move the calling (sub)shell into host I's own cgroup. With --keep-unit,
# nspawn splits the cgroup it was started in into supervisor/ and payload/;
# started from the same cgroup, all guests would share one payload/ tree and
# see each other's services in e.g. system.slice/ssh.service.
enter_host_cgroup() {
  local i=$1 root
  for root in $(cgroup_roots); do
    mkdir -p "$root/$CGROUP_NAME/host$i"
    echo "$BASHPID" >"$root/$CGROUP_NAME/host$i/cgroup.procs"
  done
}

# Remove host I's (now empty) cgroup tree; a killed guest leaves it behind.
remove_host_cgroup() {
  local i=$1 root
  for root in $(cgroup_roots); do
    [[ -d $root/$CGROUP_NAME/host$i ]] || continue
    find "$root/$CGROUP_NAME/host$i" -depth -type d -exec rmdir {} + 2>/dev/null ||
      log "warning: could not remove cgroup $root/$CGROUP_NAME/host$i"
  done
}

# Boot host I in the background. Flags, and why:
#   --register=no --keep-unit   there is no systemd/machined on the outer
#                               machine to register with or create a scope
#   --network-namespace-path    the pre-made netns (nspawn cannot build veths
#                               onto our bridge without networkd)
#   --console=read-only         no tty; boot output goes to console.log
#   --capability=CAP_NET_ADMIN  a VM's root may change its own firewall and links
#                               (the partition drill puts nftables rules on a
#                               host); nspawn drops it with a given netns. It
#                               reaches only the host's own namespace.
#   --resolv-conf/--timezone=off, --link-journal=no
#                               keep the guest independent of the outer machine
# setsid: the host must survive the caller's terminal/process group going away.
# 8>&- 9>&-: never leak our lock fds into the long-lived nspawn process.
# The subshell execs setsid, which execs nspawn (no fork: the subshell is not a
# process group leader), so $! is nspawn's pid.
boot_host() {
  local i=$1 dir pid
  dir=$(host_dir "$i")
  (
    enter_host_cgroup "$i"
    exec setsid systemd-nspawn \
      --directory="$dir/root" --boot \
      --machine="$(host_machine "$i")" \
      --register=no --keep-unit \
      --network-namespace-path="/run/netns/$(host_netns "$i")" \
      --capability=CAP_NET_ADMIN \
      --console=read-only --resolv-conf=off --timezone=off --link-journal=no
  ) </dev/null >>"$dir/console.log" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$dir/pid"
  # Until the subshell has exec'd, $pid is still bash, and a readiness check
  # would mistake it for a dead nspawn.
  local deadline=$((SECONDS + 10))
  until is_nspawn_pid "$pid" || ! pid_alive "$pid" || ((SECONDS >= deadline)); do sleep 0.02; done
}

ssh_opts() {
  printf '%s\n' -i "$RUN_DIR/id_ed25519" -o BatchMode=yes -o LogLevel=ERROR \
    -o ConnectTimeout=3 -o ServerAliveInterval=5 -o ServerAliveCountMax=3
}

# Readiness probe. It pins the host key we generated (StrictHostKeyChecking=yes
# against our own known_hosts), which proves the key in hosts.json is right.
probe_host() {
  local i=$1; shift
  local opts; mapfile -t opts < <(ssh_opts)
  ssh "${opts[@]}" -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$RUN_DIR/known_hosts" \
    "root@$(host_addr "$i")" "$@"
}

# Wait until host I's systemd finished booting (running or degraded) and sshd
# answers, or fail naming the host, with the tail of its console log.
wait_host() {
  local i=$1 deadline=$2 state="" failed
  while :; do
    if ! host_running "$i"; then
      tail -n 20 "$(host_dir "$i")/console.log" >&2 || true
      die "host$i: systemd-nspawn exited while booting (log: $(host_dir "$i")/console.log)"
    fi
    state=$(probe_host "$i" systemctl is-system-running 2>/dev/null) || true
    case $state in
      running) return 0 ;;
      degraded)
        failed=$(probe_host "$i" systemctl --failed --plain --no-legend 2>/dev/null | awk '{print $1}' | xargs) || true
        log "host$i: degraded (failed units: ${failed:-?})"
        return 0 ;;
    esac
    if ((SECONDS >= deadline)); then
      tail -n 20 "$(host_dir "$i")/console.log" >&2 || true
      die "host$i ($(host_addr "$i")) not ready after ${BOOT_TIMEOUT}s (last state: '${state:-no ssh}'; log: $(host_dir "$i")/console.log)"
    fi
    sleep 0.5
  done
}

write_hosts_json() {
  local n=$1 i sep=""
  {
    printf '{"bridge":"%s","key":"%s","knownHosts":"%s","hosts":[' \
      "$BRIDGE_ADDR" "$RUN_DIR/id_ed25519" "$RUN_DIR/known_hosts"
    for ((i = 1; i <= n; i++)); do
      printf '%s\n  {"name":"%s","address":"%s","port":22,"hostKey":"%s","netns":"%s","veth":"%s"}' \
        "$sep" "$(host_name "$i")" "$(host_addr "$i")" "$(cat "$(host_dir "$i")/hostkey")" \
        "$(host_netns "$i")" "$(host_veth "$i")"
      sep=,
    done
    printf '\n]}\n'
  } >"$RUN_DIR/hosts.json.tmp"
  mv -f "$RUN_DIR/hosts.json.tmp" "$RUN_DIR/hosts.json"
}

stale_state_exists() {
  [[ -e $RUN_DIR ]] && return 0
  ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
  ip netns list 2>/dev/null | grep -q "^${NETNS_PREFIX}[0-9]" && return 0
  return 1
}

# ---------------------------------------------------------------------------
# Teardown
# ---------------------------------------------------------------------------

# SIGKILL host I's nspawn and every process in its netns (the whole guest),
# then wait until they are gone. Power-loss semantics: nothing gets to flush.
kill_host() {
  local i=$1 pid pids=() p lock
  lock=$(nspawn_lock_file "$i")
  pid=$(host_pid "$i")
  is_nspawn_pid "$pid" && pids+=("$pid")
  # The guest's processes all live in its netns; catch any that the kill of
  # nspawn would not take down with it.
  if ip netns list 2>/dev/null | grep -qw "^$(host_netns "$i")"; then
    mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$(host_netns "$i")" 2>/dev/null)
  fi
  if ((${#pids[@]})); then
    kill -KILL "${pids[@]}" 2>/dev/null || true
    for p in "${pids[@]}"; do wait_gone "$p"; done
    KILLED_PIDS+=("${pids[@]}")
  fi
  rm -f "$(host_dir "$i")/pid"
  # A SIGKILLed nspawn cannot remove its lock file or the guest's cgroups.
  [[ -n $lock ]] && rm -f "$lock"
  rm -rf --one-file-system "$NSPAWN_RUNTIME/propagate/$(host_machine "$i")"
  remove_host_cgroup "$i"
}

# True while PID exists and is not a zombie. A zombie has already released
# its files, mounts and namespaces; reaping it is up to the outer init, which
# can take seconds (so waiting for /proc/PID to vanish would be slow).
pid_alive() {
  local stat
  stat=$(cat 2>/dev/null "/proc/$1/stat") || return 1
  stat=${stat##*) }   # field 3 (state) follows the parenthesised command name
  [[ ${stat%% *} != Z ]]
}

# Zombies are reaped by the outer init, on this kind of machine only every
# second or two. 'down' waits for that (bounded) so that afterwards not even
# a <defunct> systemd-nspawn shows up in ps.
KILLED_PIDS=()
wait_reaped() {
  local pid deadline=$((SECONDS + 10))
  for pid in "${KILLED_PIDS[@]}"; do
    while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.1; done
  done
  for pid in "${KILLED_PIDS[@]}"; do
    [[ ! -e /proc/$pid ]] || { log "note: killed pid $pid is still an unreaped zombie"; break; }
  done
}

# Wait (bounded) for a killed process to die.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + 15))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
  ! pid_alive "$pid" || log "warning: pid $pid still alive 15s after SIGKILL"
}

# Hosts that still have a cgroup, even if the run dir is gone.
cgroup_host_indices() {
  local root d
  for root in $(cgroup_roots); do
    for d in "$root/$CGROUP_NAME"/host*; do
      [[ -d $d ]] && echo "${d##*/host}"
    done
  done | sort -un
}

# nspawn's global lock for a directory is named after its device and inode
# (see image_path_lock() in systemd); only meaningful while the overlay is mounted.
nspawn_lock_file() {
  local root; root=$(host_root "$1")
  mountpoint -q "$root" 2>/dev/null || return 0
  echo "$NSPAWN_RUNTIME/locks/inode-$(stat -c '%d:%i' "$root")"
}

# Remove empty directories that nspawn and we created on the outer machine.
remove_empty_runtime_dirs() {
  local root
  for root in $(cgroup_roots); do
    [[ -d $root/$CGROUP_NAME ]] && { rmdir "$root/$CGROUP_NAME" 2>/dev/null || log "warning: cgroup $root/$CGROUP_NAME not empty"; }
  done
  rmdir "$NSPAWN_RUNTIME/locks" "$NSPAWN_RUNTIME/propagate" "$NSPAWN_RUNTIME/unix-export" "$NSPAWN_RUNTIME" 2>/dev/null || true
}

# nspawn processes started from our run dir even if their pid files are gone
# (e.g. the run dir was deleted by hand). Matches on the run dir path only.
orphan_nspawn_pids() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ $cmd == *systemd-nspawn*"--directory=$RUN_DIR/host"* ]] && echo "${p#/proc/}"
  done
  return 0
}

teardown() {
  local i ns veth pid
  # 1. processes: known hosts, then anything in our namespaces, then orphans
  for i in $(existing_host_indices); do kill_host "$i"; done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${NETNS_PREFIX}[0-9]*$" || true); do
    i=${ns#"$NETNS_PREFIX"}
    kill_host "$i"
  done
  for pid in $(orphan_nspawn_pids); do
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid"
    KILLED_PIDS+=("$pid")
  done
  for i in $(cgroup_host_indices); do remove_host_cgroup "$i"; done
  # 2. mounts (overlays, and anything nspawn might have left under the roots)
  [[ -e $RUN_DIR ]] && umount_below "$RUN_DIR"
  # 3. network: deleting a netns deletes its veth end and so the pair
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${NETNS_PREFIX}[0-9]*$" || true); do
    ip netns del "$ns"
  done
  for veth in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${VETH_PREFIX}[0-9]*$" || true); do
    ip link del "$veth" 2>/dev/null || true
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  # 4. /run/netns is created (and bind-mounted onto itself) by the first
  #    'ip netns add'; remove it only if we created it and it is now empty.
  if [[ -e $RUN_DIR/created-run-netns && -d /run/netns ]] && [[ -z $(ls -A /run/netns) ]]; then
    umount /run/netns 2>/dev/null || true
    rmdir /run/netns 2>/dev/null || true
  fi
  remove_empty_runtime_dirs
  # 5. run dir (keys, overlays' upper dirs, logs)
  if [[ -e $RUN_DIR ]]; then
    if awk -v d="$RUN_DIR" 'index($2, d "/") == 1 || $2 == d { found = 1 } END { exit !found }' /proc/mounts; then
      die "mounts remain under $RUN_DIR; not removing it"
    fi
    safe_rmtree "$RUN_DIR"
  fi
  wait_reaped
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
cmd_up() {
  local n=${1:-} i deadline start
  if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > MAX_HOSTS)); then die "up: N must be 1..$MAX_HOSTS"; fi
  require_root
  ensure_apt_deps
  ensure_base_rootfs
  if stale_state_exists; then
    log "tearing down previous hosts first"
    teardown
  fi
  start=$SECONDS
  make_run_dir
  setup_bridge
  for ((i = 1; i <= n; i++)); do
    setup_host_network "$i"
    mount_host_overlay "$i"
    personalize_host "$i" "$n"
    boot_host "$i"
  done
  deadline=$((SECONDS + BOOT_TIMEOUT))
  for ((i = 1; i <= n; i++)); do wait_host "$i" "$deadline"; done
  write_hosts_json "$n"
  log "$n host(s) up in $((SECONDS - start))s; $RUN_DIR/hosts.json"
}

cmd_down() {
  require_root
  teardown
}

cmd_crash() {
  require_root; require_host "${1:-}"
  host_running "$1" || log "host$1 was not running"
  kill_host "$1"
}

# Clean shutdown: nspawn forwards SIGTERM to the guest's systemd as a shutdown
# request (SIGRTMIN+3), then exits and removes its own runtime files.
cmd_stop() {
  require_root; require_host "${1:-}"
  local pid deadline
  pid=$(host_pid "$1")
  if ! is_nspawn_pid "$pid"; then log "host$1 is not running"; return 0; fi
  kill -TERM "$pid"
  deadline=$((SECONDS + 30))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  pid_alive "$pid" && log "host$1 did not power off in 30s; killing it"
  kill_host "$1"
}

cmd_start() {
  require_root; require_host "${1:-}"
  host_running "$1" && die "host$1 is already running"
  # Guest processes outliving a crashed nspawn would hold the disk; make sure.
  kill_host "$1"
  boot_host "$1"
  wait_host "$1" $((SECONDS + BOOT_TIMEOUT))
}

cmd_cut() { require_root; require_host "${1:-}"; ip link set "$(host_veth "$1")" down; }
cmd_heal() { require_root; require_host "${1:-}"; ip link set "$(host_veth "$1")" up; }

cmd_ssh() {
  require_host "${1:-}"
  local i=$1; shift
  local opts; mapfile -t opts < <(ssh_opts)
  exec ssh "${opts[@]}" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    "root@$(host_addr "$i")" "$@"
}

cmd_status() {
  local i state link any=0
  for i in $(existing_host_indices); do
    any=1
    if host_running "$i"; then state="running(pid $(host_pid "$i"))"; else state=stopped; fi
    if ip link show "$(host_veth "$i")" 2>/dev/null | grep -q 'state UP\|,UP'; then link=up; else link="cut"; fi
    printf '%s\t%s\t%s\tlink=%s\n' "$(host_name "$i")" "$(host_addr "$i")" "$state" "$link"
  done
  ((any)) || echo "no test hosts (run dir $RUN_DIR)"
}

# Only the cached base rootfs (the local Docker stack's tests import it as their base image).
cmd_rootfs() {
  require_root
  ensure_apt_deps
  ensure_base_rootfs
  printf '%s\n' "$BASE_ROOTFS"
}

cmd_env() {
  [[ -f $RUN_DIR/hosts.json ]] || die "no hosts.json in $RUN_DIR (run 'up' first)"
  printf 'export TESTHOSTS_DIR=%q\n' "$RUN_DIR"
  printf 'export TESTHOSTS_KEY=%q\n' "$RUN_DIR/id_ed25519"
  printf 'export TESTHOSTS_JSON=%q\n' "$RUN_DIR/hosts.json"
}

main() {
  check_paths
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    crash) cmd_crash "$@" ;;
    stop) cmd_stop "$@" ;;
    start) cmd_start "$@" ;;
    cut) cmd_cut "$@" ;;
    heal) cmd_heal "$@" ;;
    ssh) cmd_ssh "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    rootfs) cmd_rootfs ;;
    *) usage ;;
  esac
}

main "$@"
