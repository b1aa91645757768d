# Reading and waiting on Sentinels (of MASTER_NAME), each named "ip:port".

# "ip port" of the master the Sentinel names; empty if it does not answer.
master_named() { # ip:port
    rcli_reply sentinel "${1%:*}" "${1##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" | paste -sd' ' -
}

sentinel_flags() { # ip:port
    rcli sentinel "${1%:*}" "${1##*:}" SENTINEL MASTER "$MASTER_NAME" | reply_value flags
}

# Sets slaves and others: how many replicas and other Sentinels a Sentinel knows.
sentinel_counts() { # ip:port
    _m=$(rcli sentinel "${1%:*}" "${1##*:}" SENTINEL MASTER "$MASTER_NAME")
    slaves=$(printf '%s\n' "$_m" | reply_value num-slaves)
    others=$(printf '%s\n' "$_m" | reply_value num-other-sentinels)
}

# "ip:port flags" of each replica (REPLICAS) or Sentinel (SENTINELS) the Sentinel
# knows. redis-cli prints every entry as key and value lines, "name" first.
known_entries() { # ip:port REPLICAS|SENTINELS
    rcli_reply sentinel "${1%:*}" "${1##*:}" SENTINEL "$2" "$MASTER_NAME" |
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

# After a promotion the failing-over Sentinel goes on pointing the other
# replicas at the new master (parallel-syncs at a time). Until it is done a
# replica may still follow the old master, and a SENTINEL RESET would abort it.
wait_failover_done() { # ip:port
    _end=$(deadline_in "$ROLL_TIMEOUT")
    while sentinel_flags "$1" | grep -q failover_in_progress; do
        if past "$_end"; then
            echo "roll: Sentinel $1 is still failing over after ${ROLL_TIMEOUT}s" >&2
            exit 1
        fi
        sleep "$POLL_SECONDS"
    done
}

# SENTINEL RESET on one Sentinel, then wait until it has found the cluster
# again: at least WANT replicas and WANT other Sentinels (hello messages come
# every 2 s, replicas from the master's INFO every 10 s).
reset_sentinel() { # ip:port want
    rcli_raw sentinel "${1%:*}" "${1##*:}" SENTINEL RESET "$MASTER_NAME" >/dev/null
    _end=$(deadline_in "$ROLL_TIMEOUT")
    while :; do
        sentinel_counts "$1"
        [ "${slaves:-0}" -ge "$2" ] && [ "${others:-0}" -ge "$2" ] && break
        if past "$_end"; then
            _named=$(master_named "$1")
            _seen=$(known_entries "$1" REPLICAS | awk '{ print $1 "(" $2 ")" }' | paste -sd' ' -)
            echo "roll: Sentinel $1 sees ${slaves:-?} replicas and ${others:-?} other Sentinels after RESET, expected $2 each (master ${_named:-none}, replicas: ${_seen:-none})" >&2
            exit 1
        fi
        sleep "$POLL_SECONDS"
    done
    echo "Sentinel $1: reset, sees $slaves replicas and $others other Sentinels"
}
