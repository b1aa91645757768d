# The rolling restart's moves on one host: restart a node and wait until it is
# back (a replica in sync, a Sentinel with quorum), and move the master role
# away without losing an acknowledged write. The deploy steps never restart a
# running service: a change that needs one is written to disk and marked in
# PENDING_DIR (one file per unit); these functions apply such marks.
#
# State (set by the verb before use): lport, where this host's redis-server
# answers now (REDIS_PORT once restarted); sentinel_host and sentinel_port,
# the Sentinel that runs a handover (this host's, unless it is leaving).

# r HOST ARGS: rcli to a data node on lport (this host's port, the cluster's).
r() { _host=$1; shift; rcli data "$_host" "$lport" "$@"; }

# Stopped, the service cannot rewrite its file under us; then the file is made
# from the last rendered one plus what the service owns (replicaof, Sentinel state).
remerge() { refill_config "$@"; }

wait_ping() { # data|sentinel host port what
    _end=$(deadline_in "$ROLL_TIMEOUT")
    until rcli_reply "$1" "$2" "$3" PING | grep -q PONG; do
        if past "$_end"; then echo "roll: $4 did not answer PING within ${ROLL_TIMEOUT}s" >&2; exit 1; fi
        sleep "$POLL_SECONDS"
    done
}

# A replica is in sync when its link is up and it has reached the offset the
# master had a moment before (read first: under writes the master moves on).
wait_in_sync() {
    _end=$(deadline_in "$ROLL_TIMEOUT")
    while :; do
        info=$(r 127.0.0.1 INFO replication)
        if [ "$(info_field "$info" role)" = master ]; then return 0; fi
        if [ "$(info_field "$info" master_link_status)" = up ]; then
            mhost=$(info_field "$info" master_host)
            moff=$(info_field "$(rcli data "$mhost" "$(info_field "$info" master_port)" INFO replication)" master_repl_offset)
            off=$(info_field "$(r 127.0.0.1 INFO replication)" slave_repl_offset)
            if [ -n "$moff" ] && [ -n "$off" ] && [ "$off" -ge "$moff" ]; then
                echo "$REDIS_UNIT: in sync with $mhost at offset $off"
                return 0
            fi
        fi
        if past "$_end"; then
            echo "roll: the replica is not in sync after ${ROLL_TIMEOUT}s: $(printf '%s' "$info" | tr '\n' ' ')" >&2
            exit 1
        fi
        sleep "$POLL_SECONDS"
    done
}

is_master() { [ "$(info_field "$(r 127.0.0.1 INFO replication)" role)" = master ]; }

restart_redis() {
    systemctl stop "$REDIS_UNIT"
    remerge redis "$REDIS_CONF" "$REDIS_PORT"
    systemctl start "$REDIS_UNIT"
    lport=$REDIS_PORT
    wait_ping data 127.0.0.1 "$REDIS_PORT" "$REDIS_UNIT"
    wait_in_sync
    rm -f "$PENDING_DIR/$REDIS_UNIT"
    echo "$REDIS_UNIT: restarted"
}

restart_sentinel() {
    systemctl stop "$SENTINEL_UNIT"
    remerge sentinel "$SENTINEL_CONF" "$SENTINEL_PORT"
    systemctl start "$SENTINEL_UNIT"
    wait_ping sentinel 127.0.0.1 "$SENTINEL_PORT" "$SENTINEL_UNIT"
    _end=$(deadline_in "$ROLL_TIMEOUT")
    until rcli sentinel 127.0.0.1 "$SENTINEL_PORT" SENTINEL CKQUORUM "$MASTER_NAME" | grep -q '^OK'; do
        if past "$_end"; then echo "roll: the restarted Sentinel has no quorum after ${ROLL_TIMEOUT}s" >&2; exit 1; fi
        sleep "$POLL_SECONDS"
    done
    rm -f "$PENDING_DIR/$SENTINEL_UNIT"
    echo "$SENTINEL_UNIT: restarted"
}

# The Sentinel that runs a failover points only the replicas it knows at the new
# master. One that came back at another port is new to it until it reads the
# master's INFO again (every 10 s), and would be left following a master that is
# about to go: wait, before writes pause, until it knows every online replica.
wait_sentinel_knows_replicas() { # master's INFO replication
    want=$(printf '%s\n' "$1" | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),state=online.*/\1:\2/p')
    _end=$(deadline_in "$ROLL_TIMEOUT") told=
    while :; do
        known=$(known_entries "$sentinel_host:$sentinel_port" REPLICAS | awk '$2 !~ /s_down|disconnected/ { print $1 }')
        missing=""
        for w in $want; do printf '%s\n' "$known" | grep -qxF "$w" || missing="$missing $w"; done
        [ -z "$missing" ] && return 0
        [ -n "$told" ] || { told=1; echo "waiting until Sentinel $sentinel_host:$sentinel_port knows the replica(s)$missing"; }
        if past "$_end"; then
            echo "roll: Sentinel $sentinel_host:$sentinel_port does not know the replica(s)$missing after ${ROLL_TIMEOUT}s; not failing over" >&2
            exit 1
        fi
        sleep "$POLL_SECONDS"
    done
}

# Moves the master role away from this node without losing acknowledged writes.
move_master_away() {
    info=$(r 127.0.0.1 INFO replication)
    n=$(printf '%s\n' "$info" | grep -c '^slave[0-9]*:.*state=online' || true)
    [ "$n" -gt 0 ] || { echo "roll: this master has no online replica to hand over to; not restarting it" >&2; exit 1; }
    wait_sentinel_knows_replicas "$info"
    t0=$(now_ms)
    # Writes wait (clients see latency, not errors) while the replicas catch up.
    r 127.0.0.1 CLIENT PAUSE $(( ROLL_TIMEOUT * 1000 )) WRITE >/dev/null
    _end=$(deadline_in "$CATCH_UP_TIMEOUT")
    while :; do
        info=$(r 127.0.0.1 INFO replication)
        moff=$(info_field "$info" master_repl_offset)
        # Each online replica is asked what it has applied: the offsets in the
        # master's INFO come from the replicas' acknowledgements, sent once a
        # second, and waiting for the next one would hold writes for up to 1 s.
        behind=0
        for rep in $(printf '%s\n' "$info" | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),state=online.*/\1:\2/p'); do
            off=$(info_field "$(rcli data "${rep%:*}" "${rep##*:}" INFO replication)" slave_repl_offset)
            [ "${off:-0}" -ge "$moff" ] 2>/dev/null || behind=$((behind + 1))
        done
        [ "$behind" -eq 0 ] && break
        if past "$_end"; then
            r 127.0.0.1 CLIENT UNPAUSE >/dev/null
            echo "roll: replicas did not catch up with the master within ${CATCH_UP_TIMEOUT}s; not failing over" >&2
            exit 1
        fi
        sleep "$POLL_SECONDS"
    done
    me=$(info_field "$info" master_replid)
    out=$(rcli sentinel "$sentinel_host" "$sentinel_port" SENTINEL FAILOVER "$MASTER_NAME")
    [ "$out" = OK ] || { r 127.0.0.1 CLIENT UNPAUSE >/dev/null; echo "roll: SENTINEL FAILOVER refused: $out" >&2; exit 1; }
    _end=$(deadline_in "$ROLL_TIMEOUT")
    while :; do
        named=$(master_named "$sentinel_host:$sentinel_port")
        addr=${named% *} port=${named#* }
        if [ -n "$addr" ] && [ -n "$port" ]; then
            ninfo=$(rcli data "$addr" "$port" INFO replication)
            [ "$(info_field "$ninfo" role)" = master ] && [ "$(info_field "$ninfo" master_replid)" != "$me" ] && break
        fi
        if past "$_end"; then
            r 127.0.0.1 CLIENT UNPAUSE >/dev/null
            echo "roll: no new master after SENTINEL FAILOVER within ${ROLL_TIMEOUT}s" >&2
            exit 1
        fi
        sleep "$POLL_SECONDS"
    done
    # Clients ask any Sentinel where the master is: wait (a while at most) until every
    # Sentinel that is up names the new one, so that they reconnect there at once.
    _end=$(deadline_in "$SENTINELS_AGREE_TIMEOUT")
    for peer in $(known_entries "$sentinel_host:$sentinel_port" SENTINELS | awk '$2 !~ /s_down|disconnected/ { print $1 }'); do
        until [ "$(master_named "$peer")" = "$addr $port" ]; do
            if past "$_end"; then echo "roll: Sentinel $peer does not name $addr:$port yet; going on" >&2; break; fi
            sleep "$POLL_SECONDS"
        done
    done
    # Step down at once rather than wait for the Sentinels to notice (seconds, with
    # writes held): follow the new master, then drop the clients so they reconnect
    # through the Sentinels; writes held by the pause never run here. The file
    # follows once writes flow again (a node that died before that would come
    # back as a master the Sentinels know is not one, and be turned into a replica).
    r 127.0.0.1 REPLICAOF "$addr" "$port" >/dev/null
    r 127.0.0.1 CLIENT KILL TYPE normal >/dev/null
    r 127.0.0.1 CLIENT UNPAUSE >/dev/null
    t1=$(now_ms)
    r 127.0.0.1 CONFIG REWRITE >/dev/null
    echo "master moved to $addr; write pause $(( t1 - t0 )) ms"
    wait_failover_done "$sentinel_host:$sentinel_port"
}

# Every Sentinel of PEERS ("ip:port ...") that is up now.
sentinels_up() { # peers
    for _peer in $1; do
        if probe_reply sentinel "${_peer%:*}" "${_peer##*:}" PING | grep -q PONG; then printf ' %s' "$_peer"; fi
    done
}

# How many words: count_words "$list".
count_words() { set -- $1; echo $#; }
