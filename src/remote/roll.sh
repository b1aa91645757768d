# roll: applies pending restarts on this host, as one step of a rolling restart.
#
#   sh -c "$script" roll PASS CLI RPORT SPORT MASTER_NAME OWNER PENDING_DIR CONFIG_DIR SECRETS TIMEOUT_S RESTART_DIRECTIVES [REVISION | PEERS]
#
# The deploy steps never restart a running service: a change that needs a
# restart is written to disk and marked in PENDING_DIR (one file per unit).
# The cluster runs this script on every host one at a time, twice:
#   pass replicas: restarts a pending Sentinel, and a pending data node that is
#                  a replica, then waits until it is back in sync;
#   pass master:   if this host's data node is the current master (as Redis
#                  says, not the stack's initial role) and needs a restart, it
#                  pauses writes, waits until the replicas have every write,
#                  has the Sentinels fail over, and only then restarts.
# So replicas go first, the master last, and no acknowledged write is lost.
#   pass leave:    this host leaves the cluster (its Redis step is deleted): a
#                  master hands its role over first; then its Redis stops and
#                  the remaining Sentinels (PEERS, "ip:port ...") forget it
#                  with SENTINEL RESET, one at a time, each rediscovering the
#                  cluster before the next (as the Redis docs advise).
# REVISION is only there so the step runs again when what it restarts for changes.
# apply_config (apply-config.sh) is defined by the command that runs this script.
set -eu
sentinel_host=127.0.0.1 sentinel_port=$4
pass=$1 cli=$2 rport=$3 sport=$4 mname=$5 owner=$6 pending=$7 confdir=$8 secrets=$9 timeout=${10} restart_directives=${11}
RPASS=$(sed -n 's/^REDIS_PASSWORD=//p' "$secrets")
SPASS=$(sed -n 's/^SENTINEL_PASSWORD=//p' "$secrets")

r() { h=$1; shift; REDISCLI_AUTH=$RPASS "$cli" -h "$h" -p "$rport" "$@" 2>&1 | tr -d '\r'; }
s() { h=$1; shift; REDISCLI_AUTH=$SPASS "$cli" -h "$h" -p "$sport" "$@" 2>&1 | tr -d '\r'; }
field() { printf '%s\n' "$1" | sed -n "s/^$2://p" | head -n1; }
now_ms() { date +%s%3N; }
deadline() { echo $(( $(date +%s) + timeout )); }

# Stopped, the service cannot rewrite its file under us; then the file is made
# from the last rendered one plus what the service owns (replicaof, Sentinel state).
remerge() { # kind file port
    if [ -f "$confdir/$2.rendered" ]; then
        apply_config "$1" "$confdir/$2" "$owner" "$secrets" "$cli" "$3" "$mname" "$pending" "$restart_directives" "" "" < "$confdir/$2.rendered"
    fi
}

wait_ping() { # host port password what
    end=$(deadline)
    until REDISCLI_AUTH=$3 "$cli" -h "$1" -p "$2" PING 2>/dev/null | grep -q PONG; do
        [ "$(date +%s)" -lt "$end" ] || { echo "roll: $4 did not answer PING within ${timeout}s" >&2; exit 1; }
        sleep 0.5
    done
}

# A replica is in sync when its link is up and it has reached the offset the
# master had a moment before (read first: under writes the master moves on).
wait_in_sync() {
    end=$(deadline)
    while :; do
        info=$(r 127.0.0.1 INFO replication)
        if [ "$(field "$info" role)" = master ]; then return 0; fi
        if [ "$(field "$info" master_link_status)" = up ]; then
            mhost=$(field "$info" master_host)
            moff=$(field "$(r "$mhost" INFO replication)" master_repl_offset)
            off=$(field "$(r 127.0.0.1 INFO replication)" slave_repl_offset)
            if [ -n "$moff" ] && [ -n "$off" ] && [ "$off" -ge "$moff" ]; then
                echo "redis-server: in sync with $mhost at offset $off"
                return 0
            fi
        fi
        [ "$(date +%s)" -lt "$end" ] || { echo "roll: the replica is not in sync after ${timeout}s: $(printf '%s' "$info" | tr '\n' ' ')" >&2; exit 1; }
        sleep 0.5
    done
}

restart_redis() {
    systemctl stop redis-server
    remerge redis redis.conf "$rport"
    systemctl start redis-server
    wait_ping 127.0.0.1 "$rport" "$RPASS" redis-server
    wait_in_sync
    rm -f "$pending/redis-server"
    echo "redis-server: restarted"
}

restart_sentinel() {
    systemctl stop redis-sentinel
    remerge sentinel sentinel.conf "$sport"
    systemctl start redis-sentinel
    wait_ping 127.0.0.1 "$sport" "$SPASS" redis-sentinel
    end=$(deadline)
    until s 127.0.0.1 SENTINEL CKQUORUM "$mname" | grep -q '^OK'; do
        [ "$(date +%s)" -lt "$end" ] || { echo "roll: the restarted Sentinel has no quorum after ${timeout}s" >&2; exit 1; }
        sleep 0.5
    done
    rm -f "$pending/redis-sentinel"
    echo "redis-sentinel: restarted"
}

# Moves the master role away from this node without losing acknowledged writes.
move_master_away() {
    info=$(r 127.0.0.1 INFO replication)
    n=$(printf '%s\n' "$info" | grep -c '^slave[0-9]*:.*state=online' || true)
    [ "$n" -gt 0 ] || { echo "roll: this master has no online replica to hand over to; not restarting it" >&2; exit 1; }
    t0=$(now_ms)
    # Writes wait (clients see latency, not errors) while the replicas catch up.
    r 127.0.0.1 CLIENT PAUSE $(( timeout * 1000 )) WRITE >/dev/null
    end=$(( $(date +%s) + 10 ))
    while :; do
        info=$(r 127.0.0.1 INFO replication)
        moff=$(field "$info" master_repl_offset)
        behind=$(printf '%s\n' "$info" | sed -n 's/^slave[0-9]*:.*offset=\([0-9]*\).*/\1/p' | awk -v m="$moff" '$1 < m' | wc -l)
        [ "$behind" -eq 0 ] && break
        if [ "$(date +%s)" -ge "$end" ]; then
            r 127.0.0.1 CLIENT UNPAUSE >/dev/null
            echo "roll: replicas did not catch up with the master within 10s; not failing over" >&2
            exit 1
        fi
        sleep 0.05
    done
    me=$(field "$info" master_replid)
    out=$(REDISCLI_AUTH=$SPASS "$cli" -h "$sentinel_host" -p "$sentinel_port" SENTINEL FAILOVER "$mname" 2>&1)
    [ "$out" = OK ] || { r 127.0.0.1 CLIENT UNPAUSE >/dev/null; echo "roll: SENTINEL FAILOVER refused: $out" >&2; exit 1; }
    end=$(deadline)
    while :; do
        addr=$(REDISCLI_AUTH=$SPASS "$cli" -h "$sentinel_host" -p "$sentinel_port" SENTINEL get-master-addr-by-name "$mname" 2>&1 | head -n1)
        if [ -n "$addr" ] && [ "$(field "$(r "$addr" INFO replication)" role)" = master ] &&
           [ "$(field "$(r "$addr" INFO replication)" master_replid)" != "$me" ]; then break; fi
        if [ "$(date +%s)" -ge "$end" ]; then
            r 127.0.0.1 CLIENT UNPAUSE >/dev/null
            echo "roll: no new master after SENTINEL FAILOVER within ${timeout}s" >&2
            exit 1
        fi
        sleep 0.05
    done
    # Step down at once rather than wait for the Sentinels to notice (seconds, with
    # writes held): follow the new master, then drop the clients so they reconnect
    # through the Sentinels; writes held by the pause never run here.
    port=$(REDISCLI_AUTH=$SPASS "$cli" -h "$sentinel_host" -p "$sentinel_port" SENTINEL get-master-addr-by-name "$mname" 2>&1 | sed -n 2p)
    r 127.0.0.1 REPLICAOF "$addr" "$port" >/dev/null
    r 127.0.0.1 CONFIG REWRITE >/dev/null
    r 127.0.0.1 CLIENT KILL TYPE normal >/dev/null
    r 127.0.0.1 CLIENT UNPAUSE >/dev/null
    t1=$(now_ms)
    echo "master moved to $addr; write pause $(( t1 - t0 )) ms"
}

case "$pass" in
    replicas)
        if [ -f "$pending/redis-sentinel" ]; then restart_sentinel; fi
        if [ -f "$pending/redis-server" ]; then
            if [ "$(field "$(r 127.0.0.1 INFO replication)" role)" = master ]; then
                echo "redis-server: current master; restarts in the master pass, after the replicas"
            else
                restart_redis
            fi
        fi ;;
    master)
        if [ -f "$pending/redis-server" ]; then
            if [ "$(field "$(r 127.0.0.1 INFO replication)" role)" = master ]; then move_master_away; fi
            restart_redis
        fi ;;
    leave)
        peers=${12:-}
        n=0
        for peer in $peers; do n=$((n + 1)); done
        up_peers=""
        for peer in $peers; do
            if REDISCLI_AUTH=$SPASS timeout 3 "$cli" -h "${peer%:*}" -p "${peer##*:}" PING 2>/dev/null | grep -q PONG; then
                up_peers="$up_peers $peer"
            fi
        done
        if [ -z "$up_peers" ]; then
            # The whole cluster is going (pulumi destroy): nobody to hand over to or to tell.
            systemctl disable --now redis-server 2>/dev/null || true
            echo "redis-server: stopped (no Sentinel of the cluster is left)"
            exit 0
        fi
        if [ "$(field "$(r 127.0.0.1 INFO replication)" role)" = master ]; then
            first=${up_peers# }; first=${first%% *}
            sentinel_host=${first%:*} sentinel_port=${first##*:}
            move_master_away
        fi
        systemctl disable --now redis-server
        echo "redis-server: stopped; the remaining Sentinels forget this host"
        for peer in $up_peers; do
            h=${peer%:*} p=${peer##*:}
            REDISCLI_AUTH=$SPASS "$cli" -h "$h" -p "$p" SENTINEL RESET "$mname" >/dev/null
            end=$(deadline)
            while :; do
                m=$(REDISCLI_AUTH=$SPASS "$cli" -h "$h" -p "$p" SENTINEL MASTER "$mname" 2>&1 | tr -d '\r')
                slaves=$(printf '%s\n' "$m" | awk 'prev == "num-slaves" { print; exit } { prev = $0 }')
                others=$(printf '%s\n' "$m" | awk 'prev == "num-other-sentinels" { print; exit } { prev = $0 }')
                [ "$slaves" = $((n - 1)) ] && [ "$others" = $((n - 1)) ] && break
                if [ "$(date +%s)" -ge "$end" ]; then
                    echo "roll: Sentinel $peer sees ${slaves:-?} replicas and ${others:-?} other Sentinels after RESET, expected $((n - 1)) each" >&2
                    exit 1
                fi
                sleep 0.5
            done
            echo "Sentinel $peer: reset, sees $slaves replicas and $others other Sentinels"
        done
        exit 0 ;;
    *) echo "roll: unknown pass $pass" >&2; exit 2 ;;
esac
echo "roll ($pass): done"
