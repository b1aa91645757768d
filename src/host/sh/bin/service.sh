# service: enables and starts UNIT, then waits until it answers PING on PORT as
# WHO (data or sentinel). A running unit with a restart pending is left alone:
# the rolling restart step restarts it (and it may not answer on a new port
# before that).
if [ -f "$PENDING_DIR/$UNIT" ] && systemctl is-active --quiet "$UNIT"; then
    echo "$UNIT: running; restart pending for the rolling restart step"
    exit 0
fi
load_secrets "$SECRETS_FILE"
systemctl enable --now "$UNIT"
end=$(deadline_in "$SERVICE_START_TIMEOUT")
until rcli_reply "$WHO" 127.0.0.1 "$PORT" PING | grep -q PONG; do
    if past "$end"; then
        echo "service: $UNIT did not answer PING on port $PORT within ${SERVICE_START_TIMEOUT} s" >&2
        systemctl status --no-pager "$UNIT" >&2 || true
        exit 1
    fi
    sleep "$POLL_SECONDS"
done
echo "$UNIT: running"
