# isolate: the partition drill (npm run drill -- --mode partition) cuts this
# host off from the cluster's other hosts (PEERS: their addresses) for
# PARTITION_SECONDS, with firewall rules on this host alone: packets to and
# from the peers are dropped, everything else (the drill's own SSH session)
# passes. The rules go away by themselves: a transient systemd timer runs the
# heal script after PARTITION_SECONDS whatever becomes of the drill (stopped,
# its SSH session or its machine gone); `heal` runs it earlier.
# Prints "isolated-at MS" (this host's clock, when the rules are in place).
if [ -e "$PARTITION_HEAL_SCRIPT" ] || systemctl is-active --quiet "$PARTITION_HEAL_UNIT.timer"; then
    echo "isolate: a partition drill's rules are already on this host; they go at the end of its timer ($PARTITION_HEAL_UNIT.timer), or run the heal script now: sh $PARTITION_HEAL_SCRIPT" >&2
    exit 3
fi
case $PARTITION_SECONDS in '' | *[!0-9]*) echo "isolate: PARTITION_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac
v4= v6=
for p in $PEERS; do
    case $p in *:*) v6="$v6${v6:+, }$p" ;; *) v4="$v4${v4:+, }$p" ;; esac
done
if [ -z "$v4$v6" ]; then echo "isolate: no peers to cut this host off from" >&2; exit 2; fi
# The heal script first, then its timer, then the rules: however this step ends,
# rules never stay without something that removes them.
install -d -m 0700 "$(dirname "$PARTITION_HEAL_SCRIPT")"
if command -v nft >/dev/null 2>&1; then
    tool=nft
    printf '%s\n' "nft delete table inet $PARTITION_TABLE 2>/dev/null || true" "rm -f '$PARTITION_HEAL_SCRIPT'" > "$PARTITION_HEAL_SCRIPT"
elif command -v iptables >/dev/null 2>&1; then
    tool=iptables
    {
        for t in iptables ip6tables; do
            echo "for c in INPUT OUTPUT; do while $t -w -D \$c -j $PARTITION_TABLE 2>/dev/null; do :; done; done"
            echo "$t -w -F $PARTITION_TABLE 2>/dev/null; $t -w -X $PARTITION_TABLE 2>/dev/null"
        done
        echo "rm -f '$PARTITION_HEAL_SCRIPT'"
    } > "$PARTITION_HEAL_SCRIPT"
else
    echo "isolate: this host has neither nft nor iptables; install nftables to run the partition drill" >&2
    exit 2
fi
systemctl reset-failed "$PARTITION_HEAL_UNIT.timer" "$PARTITION_HEAL_UNIT.service" 2>/dev/null || true
if ! systemd-run --quiet --unit="$PARTITION_HEAL_UNIT" --on-active="${PARTITION_SECONDS}s" \
        --timer-property=AccuracySec=100ms /bin/sh "$PARTITION_HEAL_SCRIPT"; then
    rm -f "$PARTITION_HEAL_SCRIPT"
    echo "isolate: could not start the timer that removes the rules (systemd-run); nothing was changed" >&2
    exit 2
fi
if [ "$tool" = nft ]; then
    {
        echo "table inet $PARTITION_TABLE {"
        echo "  chain input { type filter hook input priority -10; policy accept;"
        [ -z "$v4" ] || echo "    ip saddr { $v4 } drop"
        [ -z "$v6" ] || echo "    ip6 saddr { $v6 } drop"
        echo "  }"
        echo "  chain output { type filter hook output priority -10; policy accept;"
        [ -z "$v4" ] || echo "    ip daddr { $v4 } drop"
        [ -z "$v6" ] || echo "    ip6 daddr { $v6 } drop"
        echo "  }"
        echo "}"
    } | nft -f -
else
    for p in $PEERS; do
        case $p in *:*) t=ip6tables ;; *) t=iptables ;; esac
        $t -w -N "$PARTITION_TABLE" 2>/dev/null || true
        $t -w -A "$PARTITION_TABLE" -s "$p" -j DROP
        $t -w -A "$PARTITION_TABLE" -d "$p" -j DROP
    done
    for t in iptables ip6tables; do
        if $t -w -L "$PARTITION_TABLE" >/dev/null 2>&1; then
            $t -w -I INPUT 1 -j "$PARTITION_TABLE"
            $t -w -I OUTPUT 1 -j "$PARTITION_TABLE"
        fi
    done
fi
echo "isolated-at $(now_ms) $tool"
