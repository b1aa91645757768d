# handover: a planned switchover (npm run drill -- --mode handover): the
# handover a master makes before its restart, without the restart.
load_secrets "$SECRETS_FILE"
lport=$(listening_port "$REDIS_UNIT" "$REDIS_PORT")
sentinel_host=127.0.0.1 sentinel_port=$SENTINEL_PORT
if is_master; then
    move_master_away
else
    echo "$REDIS_UNIT: not the master; nothing to hand over"
fi
