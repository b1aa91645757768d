# tidy: after the roll, from one host. A node that came back on another port is
# still remembered at the old one (Sentinel never forgets a replica by itself,
# and clients asking for replicas would get it). A Sentinel of PEERS (every
# Sentinel of the cluster, "ip:port ...") that knows a replica or Sentinel that
# is not the cluster's and is down or disconnected is reset, one at a time. A
# node that is not the stack's but is up (one being removed) is left alone.
# REVISION is only there so the step runs again after every roll.
load_secrets "$SECRETS_FILE"
n=$(count_words "$PEERS") replicas=""
for peer in $PEERS; do replicas="$replicas ${peer%:*}:$REDIS_PORT"; done
# A failover still running (a handover that has just been made, or one of
# Sentinel's own) ends first: a reset would abort it.
for peer in $PEERS; do wait_failover_done "$peer"; done
for peer in $PEERS; do
    stale=$( { stale_entries "$peer" REPLICAS "$replicas"; stale_entries "$peer" SENTINELS "$PEERS"; } | tr '\n' ' ')
    if [ -n "$stale" ]; then
        echo "Sentinel $peer remembers ${stale}which the cluster no longer has: forgetting the stale ones"
        reset_sentinel "$peer" $((n - 1))
    fi
done
