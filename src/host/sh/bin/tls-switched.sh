# tls-switched (TLS clusters only): runs on each host in turn, after the cluster
# is verified over TLS. On a host switched from plaintext (put-tls made
# TLS_SWITCH_MARKER): a replica's link to its master was opened in plaintext
# before the master switched, and stays so until it is made again; it is made
# again now (CLIENT KILL TYPE master on the replica itself: it reconnects at
# once, over TLS, and resumes from the master's backlog, a partial resync),
# one host at a time so the other replicas keep acknowledging writes. Then the
# marker goes and the redis-cli wrapper stops asking targets whether they still
# speak plaintext. REVISION is only there so the step runs whenever the
# verification does.
[ -e "$TLS_SWITCH_MARKER" ] || exit 0
load_secrets "$SECRETS_FILE"
lport=$(listening_port "$REDIS_UNIT" "$REDIS_PORT")
if systemctl is-active --quiet "$REDIS_UNIT" && ! is_master; then
    killed=$(r 127.0.0.1 CLIENT KILL TYPE master)
    echo "$REDIS_UNIT: replication link closed ($killed), to be made again over TLS"
    wait_in_sync
fi
rm -f "$TLS_SWITCH_MARKER"
echo "tls-switched: the switch from plaintext is over on this host"
