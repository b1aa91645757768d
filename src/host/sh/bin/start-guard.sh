# start-guard: runs before redis-server starts (the unit's drop-in, as root:
# ExecStartPre=+) on a node without persistence (AOF and RDB off). Such a node
# always starts empty. Started as a master, it would be the empty master Redis
# warns of: its replicas reconnect within a second, resync from it and drop
# their copies (a replica keeps its data only until a full sync ends). So it
# never starts as a master of a cluster that holds data:
#   - redis.conf has replicaof (a replica; the deploy's own rolling restart
#     hands the master role over and writes it before it restarts a master):
#     start;
#   - a Sentinel names another node as master: follow it (replicaof written to
#     redis.conf, the way Redis itself writes it), then start;
#   - the Sentinels name this node: it is down (this guard holds it), so they
#     fail it over after down-after-milliseconds; wait, up to
#     START_GUARD_TIMEOUT s, then follow the new master;
#   - no Sentinel answers and the node never started before (no
#     START_GUARD_MARKER): the first start of a fresh install, whose data nodes
#     start before the Sentinels; start as master;
#   - otherwise refuse after START_GUARD_TIMEOUT s, saying why: systemd starts
#     the unit again (Restart=always) and the guard asks again.
# START_GUARD_OVERRIDE, created by an operator, lets the node start empty as
# master once (it is removed): for a cluster that has lost its data anyway.
# Inputs: SELF (this node's announced address), SENTINELS ("ip:port ...").
# Output goes to the journal of the redis-server unit.
say() { echo "start-guard: $*"; }
started=$(now_ms)
held() { echo "$(( $(now_ms) - started )) ms"; }

follows=$(awk '$1 == "replicaof" || $1 == "slaveof" { print $2 ":" $3; exit }' "$REDIS_CONF")
if [ -n "$follows" ]; then
    touch "$START_GUARD_MARKER"
    say "starts as a replica of $follows; nothing to hold"
    exit 0
fi
if [ -f "$START_GUARD_OVERRIDE" ]; then
    rm -f "$START_GUARD_OVERRIDE"
    touch "$START_GUARD_MARKER"
    say "$START_GUARD_OVERRIDE was there (now removed): starting EMPTY as master, as the operator asked; replicas that follow it will drop their data"
    exit 0
fi
load_secrets "$SECRETS_FILE"

# Each answering Sentinel's master, "ip port", one per line.
masters_named() {
    for s in $SENTINELS; do
        probe_reply sentinel "${s%:*}" "${s##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" | paste -sd' ' - |
            grep -E '^[0-9A-Fa-f.:]+ [0-9]+$' || true
    done
}

# Writes replicaof into redis.conf as Redis would (same owner and mode), under
# the config lock the deploy's steps take.
follow() { # ip port
    exec 9<"$(dirname "$REDIS_CONF")"
    flock -w "$CONFIG_LOCK_TIMEOUT" 9 || { say "$REDIS_CONF stayed locked for ${CONFIG_LOCK_TIMEOUT}s; not starting" >&2; exit 1; }
    tmp=$(mktemp "$REDIS_CONF.XXXXXX")
    awk '$1 != "replicaof" && $1 != "slaveof"' "$REDIS_CONF" > "$tmp"
    echo "replicaof $1 $2" >> "$tmp"
    chown "$SERVICE_USER:$SERVICE_USER" "$tmp"
    chmod 0640 "$tmp"
    mv -f "$tmp" "$REDIS_CONF"
    touch "$START_GUARD_MARKER"
    say "the Sentinels name $1:$2 as master: starting as its replica (this node keeps no data of its own); held the start for $(held)"
}

end=$(deadline_in "$START_GUARD_TIMEOUT")
told=
while :; do
    named=$(masters_named)
    # The master most Sentinels name, if it is another node.
    other=$(printf '%s\n' "$named" | grep -vxF "$SELF $REDIS_PORT" | grep . | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2, $3 }')
    if [ -n "$other" ]; then
        follow $other
        exit 0
    fi
    if [ -z "$named" ] && [ ! -f "$START_GUARD_MARKER" ]; then
        touch "$START_GUARD_MARKER"
        say "first start of this node (no Sentinel answers yet): starting as master"
        exit 0
    fi
    if [ -z "$told" ]; then
        told=1
        if [ -n "$named" ]; then
            say "holding the start: this node has no data (persistence off) and the Sentinels still name it as master; waiting up to ${START_GUARD_TIMEOUT}s for them to fail it over"
        else
            say "holding the start: this node has no data (persistence off), has run before, and no Sentinel ($SENTINELS) answers; waiting up to ${START_GUARD_TIMEOUT}s for one"
        fi
    fi
    if past "$end"; then
        if [ -n "$named" ]; then why="the Sentinels still name this node as master (no failover: is a replica with data up and promotable?)"
        else why="no Sentinel answered ($SENTINELS)"; fi
        say "refusing to start as an empty master after $(held): $why. systemd tries again; to start it empty anyway: touch $START_GUARD_OVERRIDE" >&2
        exit 1
    fi
    sleep "$START_GUARD_POLL_SECONDS"
done
