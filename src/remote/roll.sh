# roll: applies pending restarts on this host, as one step of a rolling restart.
#
#   sh -c "$script" roll PASS CLI RPORT SPORT MASTER_NAME OWNER PENDING_DIR CONFIG_DIR SECRETS TIMEOUT_S RESTART_DIRECTIVES [REVISION | PEERS [REVISION]]
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
#   pass handover: only the master's handover, no restart (an operator's
#                  planned switchover).
#   pass tidy:     after the roll, from one host: every Sentinel (PEERS) that
#                  still remembers a node or Sentinel at an address or port it
#                  left (down or disconnected there) is reset, one at a time,
#                  the same way.
# REVISION is only there so the step runs again when what it restarts for changes.
# apply_config (apply-config.sh) is defined by the command that runs this script.
set -eu
sentinel_host=127.0.0.1 sentinel_port=$4
pass=$1 cli=$2 rport=$3 sport=$4 mname=$5 owner=$6 pending=$7 confdir=$8 secrets=$9 timeout=${10} restart_directives=${11}
RPASS=$(sed -n 's/^REDIS_PASSWORD=//p' "$secrets")
SPASS=$(sed -n 's/^SENTINEL_PASSWORD=//p' "$secrets")

# listening_port UNIT DEFAULT: lib/listening-port.sh, put before this script.
# lport: where this host's redis-server answers now (RPORT once restarted).
lport=$(listening_port redis-server "$rport")
rat() { h=$1 p=$2; shift 2; REDISCLI_AUTH=$RPASS "$cli" -h "$h" -p "$p" "$@" 2>&1 | tr -d '\r'; }
r() { h=$1; shift; rat "$h" "$lport" "$@"; }
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
            moff=$(field "$(rat "$mhost" "$(field "$info" master_port)" INFO replication)" master_repl_offset)
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
    lport=$rport
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

# The Sentinel that runs a failover points only the replicas it knows at the new
# master. One that came back at another port is new to it until it reads the
# master's INFO again (every 10 s), and would be left following a master that is
# about to go: wait, before writes pause, until it knows every online replica.
wait_sentinel_knows_replicas() { # master's INFO replication
    want=$(printf '%s\n' "$1" | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),state=online.*/\1:\2/p')
    end=$(deadline) told=
    while :; do
        known=$(known_entries "$sentinel_host:$sentinel_port" REPLICAS | awk '$2 !~ /s_down|disconnected/ { print $1 }')
        missing=""
        for w in $want; do printf '%s\n' "$known" | grep -qxF "$w" || missing="$missing $w"; done
        [ -z "$missing" ] && return 0
        [ -n "$told" ] || { told=1; echo "waiting until Sentinel $sentinel_host:$sentinel_port knows the replica(s)$missing"; }
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "roll: Sentinel $sentinel_host:$sentinel_port does not know the replica(s)$missing after ${timeout}s; not failing over" >&2
            exit 1
        fi
        sleep 0.5
    done
}

# After the promotion the failing-over Sentinel goes on pointing the other
# replicas at the new master (parallel-syncs at a time). Until it is done a
# replica may still follow this node, and a SENTINEL RESET would abort it.
wait_failover_done() { # ip:port of a Sentinel
    end=$(deadline)
    while sentinel_flags "$1" | grep -q failover_in_progress; do
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "roll: Sentinel $1 is still failing over after ${timeout}s" >&2
            exit 1
        fi
        sleep 0.2
    done
}

sentinel_flags() { # ip:port
    REDISCLI_AUTH=$SPASS "$cli" -h "${1%:*}" -p "${1##*:}" SENTINEL MASTER "$mname" 2>&1 | tr -d '\r' | reply_value flags
}

# The value after KEY in a reply redis-cli prints as key and value lines (stdin).
reply_value() { awk -v k="$1" 'prev == k { print; exit } { prev = $0 }'; }

# "ip port" of the master the Sentinel at ip:port names; empty if it does not answer.
master_named() { # ip:port
    REDISCLI_AUTH=$SPASS "$cli" -h "${1%:*}" -p "${1##*:}" SENTINEL get-master-addr-by-name "$mname" 2>/dev/null | tr -d '\r' | paste -sd' ' -
}

# Moves the master role away from this node without losing acknowledged writes.
move_master_away() {
    info=$(r 127.0.0.1 INFO replication)
    n=$(printf '%s\n' "$info" | grep -c '^slave[0-9]*:.*state=online' || true)
    [ "$n" -gt 0 ] || { echo "roll: this master has no online replica to hand over to; not restarting it" >&2; exit 1; }
    wait_sentinel_knows_replicas "$info"
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
        named=$(master_named "$sentinel_host:$sentinel_port")
        addr=${named% *} port=${named#* }
        if [ -n "$addr" ] && [ -n "$port" ] && [ "$(field "$(rat "$addr" "$port" INFO replication)" role)" = master ] &&
           [ "$(field "$(rat "$addr" "$port" INFO replication)" master_replid)" != "$me" ]; then break; fi
        if [ "$(date +%s)" -ge "$end" ]; then
            r 127.0.0.1 CLIENT UNPAUSE >/dev/null
            echo "roll: no new master after SENTINEL FAILOVER within ${timeout}s" >&2
            exit 1
        fi
        sleep 0.05
    done
    # Clients ask any Sentinel where the master is: wait (10 s at most) until every
    # Sentinel that is up names the new one, so that they reconnect there at once.
    end=$(( $(date +%s) + 10 ))
    for peer in $(known_entries "$sentinel_host:$sentinel_port" SENTINELS | awk '$2 !~ /s_down|disconnected/ { print $1 }'); do
        until [ "$(master_named "$peer")" = "$addr $port" ]; do
            [ "$(date +%s)" -lt "$end" ] || { echo "roll: Sentinel $peer does not name $addr:$port yet; going on" >&2; break; }
            sleep 0.05
        done
    done
    # Step down at once rather than wait for the Sentinels to notice (seconds, with
    # writes held): follow the new master, then drop the clients so they reconnect
    # through the Sentinels; writes held by the pause never run here.
    r 127.0.0.1 REPLICAOF "$addr" "$port" >/dev/null
    r 127.0.0.1 CONFIG REWRITE >/dev/null
    r 127.0.0.1 CLIENT KILL TYPE normal >/dev/null
    r 127.0.0.1 CLIENT UNPAUSE >/dev/null
    t1=$(now_ms)
    echo "master moved to $addr; write pause $(( t1 - t0 )) ms"
    wait_failover_done "$sentinel_host:$sentinel_port"
}

# SENTINEL RESET on one Sentinel, then wait until it has found the cluster
# again: at least WANT replicas and WANT other Sentinels (hello messages come
# every 2 s, replicas from the master's INFO every 10 s).
reset_sentinel() { # ip:port want
    h=${1%:*} p=${1##*:}
    REDISCLI_AUTH=$SPASS "$cli" -h "$h" -p "$p" SENTINEL RESET "$mname" >/dev/null
    end=$(deadline)
    while :; do
        sentinel_counts "$h" "$p"
        [ "${slaves:-0}" -ge "$2" ] && [ "${others:-0}" -ge "$2" ] && break
        if [ "$(date +%s)" -ge "$end" ]; then
            named=$(master_named "$1")
            seen=$(known_entries "$1" REPLICAS | awk '{ print $1 "(" $2 ")" }' | paste -sd' ' -)
            echo "roll: Sentinel $1 sees ${slaves:-?} replicas and ${others:-?} other Sentinels after RESET, expected $2 each (master ${named:-none}, replicas: ${seen:-none})" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "Sentinel $1: reset, sees $slaves replicas and $others other Sentinels"
}

# "ip:port flags" of each replica (REPLICAS) or Sentinel (SENTINELS) the Sentinel
# at ip:port knows. redis-cli prints every entry as key and value lines, "name" first.
known_entries() { # ip:port REPLICAS|SENTINELS
    REDISCLI_AUTH=$SPASS "$cli" -h "${1%:*}" -p "${1##*:}" SENTINEL "$2" "$mname" 2>/dev/null | tr -d '\r' |
    awk '
        function flush() { if (ip != "") print ip ":" port " " flags; ip = ""; port = ""; flags = "" }
        key == "" { key = $0; next }
        {
            if (key == "name") flush()
            if (key == "ip") ip = $0; else if (key == "port") port = $0; else if (key == "flags") flags = $0
            key = ""
        }
        END { flush() }'
}

# Those of them not in EXPECTED ("ip:port ...") that are down or disconnected.
stale_entries() { # ip:port REPLICAS|SENTINELS expected
    known_entries "$1" "$2" | awk -v expected=" $3 " 'index(expected, " " $1 " ") == 0 && $2 ~ /s_down|disconnected/ { print $1 }'
}

# Sets slaves and others: how many replicas and other Sentinels a Sentinel knows.
sentinel_counts() { # host port
    m=$(REDISCLI_AUTH=$SPASS "$cli" -h "$1" -p "$2" SENTINEL MASTER "$mname" 2>&1 | tr -d '\r')
    slaves=$(printf '%s\n' "$m" | reply_value num-slaves)
    others=$(printf '%s\n' "$m" | reply_value num-other-sentinels)
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
    handover)
        # A planned switchover (npm run drill -- --mode handover): the handover a
        # master makes before its restart, without the restart.
        if [ "$(field "$(r 127.0.0.1 INFO replication)" role)" = master ]; then
            move_master_away
        else
            echo "redis-server: not the master; nothing to hand over"
        fi
        exit 0 ;;
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
        for peer in $up_peers; do wait_failover_done "$peer"; done
        for peer in $up_peers; do reset_sentinel "$peer" $((n - 1)); done
        exit 0 ;;
    tidy)
        # After a roll: a node that came back on another port is still remembered
        # at the old one (Sentinel never forgets a replica by itself, and clients
        # asking for replicas would get it). A Sentinel that knows a replica or
        # Sentinel that is not the cluster's and is down or disconnected is
        # reset, one at a time (PEERS: every Sentinel of the cluster). A node
        # that is not the stack's but is up (one being removed) is left alone.
        peers=${12:-}
        n=0 replicas=""
        for peer in $peers; do n=$((n + 1)) replicas="$replicas ${peer%:*}:$rport"; done
        # A failover still running (a handover that has just been made, or one of
        # Sentinel's own) ends first: a reset would abort it.
        for peer in $peers; do wait_failover_done "$peer"; done
        for peer in $peers; do
            stale=$( { stale_entries "$peer" REPLICAS "$replicas"; stale_entries "$peer" SENTINELS "$peers"; } | tr '\n' ' ')
            if [ -n "$stale" ]; then
                echo "Sentinel $peer remembers ${stale}which the cluster no longer has: forgetting the stale ones"
                reset_sentinel "$peer" $((n - 1))
            fi
        done
        exit 0 ;;
    *) echo "roll: unknown pass $pass" >&2; exit 2 ;;
esac
echo "roll ($pass): done"
