# auth-links: switches the links between the cluster's nodes to the current
# passwords, live: this data node's replication login (masteruser REPL_USER,
# masterauth from REPL_SECRET), this Sentinel's login to the data nodes
# (auth-user SENTINEL_USER / auth-pass from SENTINEL_SECRET) and to the other
# Sentinels (sentinel-user PEER_USER / sentinel-pass from PEER_SECRET). Runs
# once every host's acl step has added the new passwords. Passwords reach
# redis-cli on stdin (-x), never as arguments. FIRST_RUN=yes (the step has just
# been created): nodes installed by this same up log in as their config files
# say; nothing to switch unless the host ran before (see acl.sh).
load_secrets "$SECRETS_FILE"
if [ "$FIRST_RUN" = yes ] && ! secrets_rotating "$SECRETS_FILE"; then
    echo "links: as the config files have them (first install)"
    exit 0
fi

expect_ok() { # what, reply
    [ "$2" = OK ] || { echo "auth-links: $1 was refused: $2" >&2; exit 4; }
}
lport=$(listening_port "$REDIS_UNIT" "$REDIS_PORT")
if rcli_reply data 127.0.0.1 "$lport" PING | grep -q PONG; then
    # One command for both: a user with the other's password never logs in (the next reconnect would be denied).
    expect_ok "CONFIG SET masteruser, masterauth" \
        "$(secret_of "$REPL_SECRET" | rcli data 127.0.0.1 "$lport" -x CONFIG SET masteruser "$REPL_USER" masterauth)"
    echo "$REDIS_UNIT: replicates as $REPL_USER with the current password"
else
    echo "$REDIS_UNIT: not answering; it reads the replication login from its config file"
fi
slport=$(listening_port "$SENTINEL_UNIT" "$SENTINEL_PORT")
if rcli_reply sentinel 127.0.0.1 "$slport" PING | grep -q PONG; then
    expect_ok "SENTINEL SET auth-user, auth-pass" \
        "$(secret_of "$SENTINEL_SECRET" | rcli sentinel 127.0.0.1 "$slport" -x SENTINEL SET "$MASTER_NAME" auth-user "$SENTINEL_USER" auth-pass)"
    # SENTINEL CONFIG SET takes one option per command before Redis 7.2: the
    # password first (a login as default with it is refused; one as the peer
    # user with the old password would be a denial of the cluster's own user).
    expect_ok "SENTINEL CONFIG SET sentinel-pass" "$(secret_of "$PEER_SECRET" | rcli sentinel 127.0.0.1 "$slport" -x SENTINEL CONFIG SET sentinel-pass)"
    expect_ok "SENTINEL CONFIG SET sentinel-user" "$(rcli sentinel 127.0.0.1 "$slport" SENTINEL CONFIG SET sentinel-user "$PEER_USER")"
    echo "$SENTINEL_UNIT: logs in to the data nodes as $SENTINEL_USER and to the Sentinels as $PEER_USER with the current passwords"
else
    echo "$SENTINEL_UNIT: not answering; it reads its logins from its config file"
fi
refill_config redis "$REDIS_CONF" "$REDIS_PORT"
refill_config sentinel "$SENTINEL_CONF" "$SENTINEL_PORT"
