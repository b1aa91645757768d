# put-tls (TLS clusters only): the host's TLS files and the redis-cli wrapper
# every host script runs (at REDIS_CLI); a renewal applied where Redis allows it.
# Inputs: TLS_CA (the CA's certificate), TLS_CERT (this host's certificate),
# CA_FILE, CERT_FILE, KEY_FILE (where they go), CLI_WRAPPER (the wrapper's
# text); stdin: this host's private key (a secret). Files are owned by
# SERVICE_USER (which runs redis-server and Sentinel): the key mode 0600, the
# certificates 0644; the wrapper is root's, 0755. Each is written only when it
# differs.
#
# A changed certificate, key or CA on a running data node is loaded live:
# CONFIG SET of the same file names makes Redis read them again (these settings
# reload even when the value is unchanged), no restart. A Sentinel has no such
# command (CONFIG is unknown in Sentinel mode, SENTINEL CONFIG SET refuses tls-*),
# so a running one is marked for the rolling restart step, which restarts the
# Sentinels one host at a time.
#
# A host whose data node already runs without TLS (redis.conf has no tls-port)
# is being switched from plaintext: TLS_SWITCH_MARKER is made before the wrapper
# is written, so the wrapper keeps speaking plaintext to whatever has not
# switched yet. Its data node switches live in its config step (apply-config:
# one CONFIG SET that closes the plaintext port and opens the TLS one, open
# connections stay), its Sentinel in the rolling restart; the marker goes once
# the cluster is verified over TLS.
umask 077
switching=no
if [ -f "$REDIS_CONF" ] && ! grep -q '^tls-port ' "$REDIS_CONF"; then
    switching=yes
    touch "$TLS_SWITCH_MARKER"
    echo "put-tls: switching this host from plaintext to TLS. New connections to it must use TLS once its data node switches (its config step) and its Sentinel restarts (the rolling restart); connections already open keep working until they close. Give clients the connection output's TLS settings now."
fi
changed=no
put() { # dest mode owner; the content on stdin
    tmp=$(mktemp "$1.XXXXXX")
    cat > "$tmp"
    if [ -f "$1" ] && cmp -s "$tmp" "$1"; then
        rm -f "$tmp"
        echo "$1: up to date"
        return 0
    fi
    chown "$3:$3" "$tmp"
    chmod "$2" "$tmp"
    mv -f "$tmp" "$1"
    echo "$1: written"
    changed=yes
}
put "$KEY_FILE" 0600 "$SERVICE_USER"
printf '%s\n' "$TLS_CA" | put "$CA_FILE" 0644 "$SERVICE_USER"
printf '%s\n' "$TLS_CERT" | put "$CERT_FILE" 0644 "$SERVICE_USER"
tls_changed=$changed
printf '%s' "$CLI_WRAPPER" | put "$REDIS_CLI" 0755 root
[ "$tls_changed" = yes ] || exit 0
# Switching: the config step loads the files together with the TLS port.
if [ "$switching" = no ] && systemctl is-active --quiet "$REDIS_UNIT"; then
    load_secrets "$SECRETS_FILE"
    out=$(rcli data 127.0.0.1 "$REDIS_PORT" CONFIG SET tls-cert-file "$CERT_FILE" tls-key-file "$KEY_FILE" tls-ca-cert-file "$CA_FILE")
    if [ "$out" != OK ]; then
        echo "put-tls: $REDIS_UNIT did not load the new certificates: $out" >&2
        exit 1
    fi
    echo "$REDIS_UNIT: certificates loaded live (CONFIG SET)"
fi
if systemctl is-active --quiet "$SENTINEL_UNIT"; then
    mkdir -p "$PENDING_DIR" && touch "$PENDING_DIR/$SENTINEL_UNIT"
    echo "$SENTINEL_UNIT: restart pending: a Sentinel cannot load new certificates live (done by the rolling restart step)"
fi
