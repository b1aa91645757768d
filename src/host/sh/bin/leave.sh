# leave: this host leaves the cluster (its Redis step is deleted): a master
# hands its role over first; then its Redis stops and the remaining Sentinels
# (PEERS, "ip:port ...") forget it with SENTINEL RESET, one at a time, each
# rediscovering the cluster before the next (as the Redis docs advise).
load_secrets "$SECRETS_FILE"
lport=$(listening_port "$REDIS_UNIT" "$REDIS_PORT")
n=$(count_words "$PEERS")
up_peers=$(sentinels_up "$PEERS")
if [ -z "$up_peers" ]; then
    # The whole cluster is going (pulumi destroy): nobody to hand over to or to tell.
    systemctl disable --now "$REDIS_UNIT" 2>/dev/null || true
    echo "$REDIS_UNIT: stopped (no Sentinel of the cluster is left)"
    exit 0
fi
if is_master; then
    first=${up_peers# }; first=${first%% *}
    sentinel_host=${first%:*} sentinel_port=${first##*:}
    move_master_away
fi
systemctl disable --now "$REDIS_UNIT"
echo "$REDIS_UNIT: stopped; the remaining Sentinels forget this host"
for peer in $up_peers; do wait_failover_done "$peer"; done
for peer in $up_peers; do reset_sentinel "$peer" $((n - 1)); done
