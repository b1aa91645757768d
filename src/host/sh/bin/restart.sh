# restart: one host's step of the rolling restart, run on every host one at a
# time, twice (PASS):
#   replicas: restarts a pending Sentinel, and a pending data node that is a
#             replica, then waits until it is back in sync;
#   master:   if this host's data node is the current master (as Redis says,
#             not the stack's initial role) and needs a restart, hands the role
#             over (lib/roll.sh: move_master_away) and only then restarts.
# So replicas go first, the master last, and no acknowledged write is lost.
# REVISION is only there so the step runs again when what it restarts for changes.
load_secrets "$SECRETS_FILE"
lport=$(listening_port "$REDIS_UNIT" "$REDIS_PORT")
sentinel_host=127.0.0.1 sentinel_port=$SENTINEL_PORT
case "$PASS" in
    replicas)
        if [ -f "$PENDING_DIR/$SENTINEL_UNIT" ]; then restart_sentinel; fi
        if [ -f "$PENDING_DIR/$REDIS_UNIT" ]; then
            if is_master; then
                echo "$REDIS_UNIT: current master; restarts in the master pass, after the replicas"
            else
                restart_redis
            fi
        fi ;;
    master)
        if [ -f "$PENDING_DIR/$REDIS_UNIT" ]; then
            if is_master; then move_master_away; fi
            restart_redis
        fi ;;
    *) echo "restart: PASS is replicas or master, not $PASS" >&2; exit 2 ;;
esac
echo "roll ($PASS): done"
