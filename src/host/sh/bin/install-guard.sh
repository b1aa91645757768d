# install-guard: installs the start guard of a node without persistence: its
# file (stdin) at START_GUARD_SCRIPT, root-only, and the redis-server unit's
# drop-in DROP_IN (text DROP_IN_TEXT) that runs it before every start. Neither
# restarts anything: the guard matters only when the node next starts.
# A node that already runs has started before: it is marked so
# (START_GUARD_MARKER), and the guard never takes a later empty start of it for
# the first start of a fresh install.
umask 077
mkdir -p "$(dirname "$START_GUARD_SCRIPT")" "$(dirname "$DROP_IN")"
tmp=$(mktemp "$START_GUARD_SCRIPT.XXXXXX")
cat > "$tmp"
chmod 0700 "$tmp"
mv -f "$tmp" "$START_GUARD_SCRIPT"
tmp=$(mktemp "$DROP_IN.XXXXXX")
printf '%s' "$DROP_IN_TEXT" > "$tmp"
if [ -f "$DROP_IN" ] && cmp -s "$tmp" "$DROP_IN"; then
    rm -f "$tmp"
    echo "$DROP_IN: up to date"
else
    chmod 0644 "$tmp"
    mv -f "$tmp" "$DROP_IN"
    systemctl daemon-reload
    echo "$DROP_IN: written (applies at the next start of $REDIS_UNIT)"
fi
if systemctl is-active --quiet "$REDIS_UNIT"; then touch "$START_GUARD_MARKER"; fi
echo "start guard installed: $START_GUARD_SCRIPT"
