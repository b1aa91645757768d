# drill-writer: the partition drill's writer on this host, as an application
# beside the cluster would write: it asks this host's own Sentinel for the
# master (again after every failed write, and every second), and sets
# KEY_PREFIX:N to N as WRITER_USER (password WRITER_SECRET from the host's
# secrets file), expiring after KEY_TTL seconds (an interrupted drill leaves
# nothing for long), until MAX_SECONDS have passed or whoever reads its output
# goes away. One line per write, times in ms on this host's clock:
#   ack N MS ADDRESS    the master at ADDRESS acknowledged write N
#   err N MS MESSAGE    write N failed (MESSAGE: the first line of the error)
load_secrets "$SECRETS_FILE"
pw=$(secret_of "$WRITER_SECRET")
end=$(deadline_in "$MAX_SECONDS")
i=0 mh= mp= asked=0
while ! past "$end"; do
    now=$(now_ms)
    if [ -z "$mh" ] || [ $((now - asked)) -ge 1000 ]; then
        set -- $(probe_reply sentinel 127.0.0.1 "$SENTINEL_PORT" SENTINEL get-master-addr-by-name "$MASTER_NAME")
        mh=${1:-} mp=${2:-} asked=$now
    fi
    if [ -z "$mh" ]; then
        echo "err $i $(now_ms) this host's Sentinel names no master"
        sleep "$WRITE_RETRY_SECONDS"
        i=$((i + 1))
        continue
    fi
    r=$(REDISCLI_AUTH=$pw timeout "$WRITE_TIMEOUT_SECONDS" "$REDIS_CLI" -h "$mh" -p "$mp" --user "$WRITER_USER" SET "$KEY_PREFIX:$i" "$i" EX "$KEY_TTL" 2>&1) || r=${r:-timed out after ${WRITE_TIMEOUT_SECONDS} s}
    case $r in
        OK*) echo "ack $i $(now_ms) $mh" ;;
        *) echo "err $i $(now_ms) $(printf '%s\n' "$r" | head -n1 | tr -d '\r')"; mh=; sleep "$WRITE_RETRY_SECONDS" ;;
    esac
    i=$((i + 1))
done
