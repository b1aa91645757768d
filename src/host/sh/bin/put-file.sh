# put-file: writes stdin to DEST with OWNER and MODE, atomically and only when
# the content differs, then runs ACTION.
# Inputs: DEST, OWNER, MODE, ACTION: none | sysctl (load it now; a container may
# refuse, which is only a warning) | tmpfiles (apply it now, same) | unit:NAME
# (systemctl daemon-reload; a change to the unit of a running service takes
# effect at its next restart, so it is marked in PENDING_DIR/NAME for the
# rolling restart step).
umask 077
tmp=$(mktemp "$DEST.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
if [ -f "$DEST" ] && cmp -s "$tmp" "$DEST"; then
    echo "$DEST: up to date"
    exit 0
fi
restart=no
case "$ACTION" in
    unit:*) if [ -f "$DEST" ] && systemctl is-active --quiet "${ACTION#unit:}"; then restart=yes; fi ;;
esac
chown "$OWNER:$OWNER" "$tmp"
chmod "$MODE" "$tmp"
mv -f "$tmp" "$DEST"
echo "$DEST: written"
case "$ACTION" in
    none) ;;
    sysctl) sysctl -q -p "$DEST" 2>&1 || echo "warning: could not apply $DEST now (a container host?); it applies at boot" ;;
    tmpfiles) systemd-tmpfiles --create "$DEST" 2>&1 || echo "warning: could not apply $DEST now (a container host?); it applies at boot" ;;
    unit:*)
        systemctl daemon-reload
        if [ "$restart" = yes ]; then
            mkdir -p "$PENDING_DIR" && touch "$PENDING_DIR/${ACTION#unit:}"
            echo "${ACTION#unit:}: restart pending (done by the rolling restart step)"
        fi ;;
    *) echo "put-file: unknown action $ACTION" >&2; exit 2 ;;
esac
