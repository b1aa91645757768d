# drill-load: the load drill (npm run drill -- --mode load), run on the
# master's host: for LOAD_SECONDS it writes as fast as one connection takes
# them (redis-cli --pipe) to the master this host's Sentinel names, as
# WRITER_USER: SET KEY_PREFIX:<n mod LOAD_KEYS> to a VALUE_BYTES value that
# expires after LOAD_KEY_TTL seconds (the drill leaves nothing behind). Every
# 0.2 s it reads the replicas' lag as the master sees it (what
# min-replicas-max-lag is compared with). Prints:
#   load MASTER replies N errors E ms T
#   error COUNT MESSAGE     each distinct error the master answered
#   lag ADDRESS MAX         the largest lag (s) the master reported for a replica
load_secrets "$SECRETS_FILE"
pw=$(secret_of "$WRITER_SECRET")
set -- $(probe_reply sentinel 127.0.0.1 "$SENTINEL_PORT" SENTINEL get-master-addr-by-name "$MASTER_NAME")
if [ -z "${1:-}" ]; then echo "drill-load: this host's Sentinel names no master" >&2; exit 2; fi
mh=$1 mp=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(
    while [ ! -e "$tmp/done" ]; do
        rcli_reply data "$mh" "$mp" INFO replication | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),.*lag=\([0-9]*\).*/\1:\2 \3/p'
        sleep 0.2
    done
) > "$tmp/lags" &
sampler=$!
end=$(deadline_in "$LOAD_SECONDS")
# RESP, 10,000 commands a batch, until the time is up; the pipe's back-pressure
# holds the generator to the server's pace.
generate() {
    n=0
    while ! past "$end"; do
        awk -v s="$n" -v keys="$LOAD_KEYS" -v p="$KEY_PREFIX" -v size="$VALUE_BYTES" -v ttl="$LOAD_KEY_TTL" 'BEGIN {
            v = sprintf("%" size "s", ""); gsub(/ /, "x", v)
            for (i = s; i < s + 10000; i++) {
                k = p ":" (i % keys)
                printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$%d\r\n%s\r\n", length(k), k, length(v), v, length(ttl), ttl
            }
        }'
        n=$((n + 10000))
    done
}
started=$(now_ms)
generate | REDISCLI_AUTH=$pw "$REDIS_CLI" -h "$mh" -p "$mp" --user "$WRITER_USER" --pipe > "$tmp/out" 2>&1 || true
ms=$(( $(now_ms) - started ))
touch "$tmp/done"
wait "$sampler" || true
tr -d '\r' < "$tmp/out" > "$tmp/out.txt"
summary=$(grep '^errors: ' "$tmp/out.txt" | tail -n1)
if [ -z "$summary" ]; then echo "drill-load: redis-cli --pipe did not finish: $(tail -n3 "$tmp/out.txt" | tr '\n' ' ')" >&2; exit 2; fi
errors=$(printf '%s\n' "$summary" | sed -n 's/^errors: \([0-9]*\),.*/\1/p')
replies=$(printf '%s\n' "$summary" | sed -n 's/.*replies: \([0-9]*\).*/\1/p')
echo "load $mh:$mp replies $replies errors $errors ms $ms"
grep -v -e '^errors: ' -e '^All data transferred' -e '^Last reply received' -e '^Waiting for the last' "$tmp/out.txt" | sort | uniq -c | while read -r c msg; do echo "error $c $msg"; done
awk '{ if (!($1 in m) || $2 > m[$1]) m[$1] = $2 } END { for (a in m) print "lag " a " " m[a] }' "$tmp/lags"
