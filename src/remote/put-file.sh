# put-file: writes stdin to DEST with OWNER and MODE, atomically and only when
# the content differs, then runs ACTION.
#
#   sh -c "$script" put-file DEST OWNER MODE ACTION [PENDING_DIR] < content
#
# ACTION: none | sysctl (load it now; a container may refuse, which is only a
# warning) | tmpfiles (apply it now, same) | unit:NAME (systemctl daemon-reload;
# a change to the unit of a running service takes effect at its next restart,
# so it is marked in PENDING_DIR/NAME for the rolling restart step).
set -eu
dest=$1 owner=$2 mode=$3 action=$4 pending=${5:-}
umask 077
tmp=$(mktemp "$dest.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    echo "$dest: up to date"
    exit 0
fi
restart=no
case "$action" in
    unit:*) if [ -f "$dest" ] && systemctl is-active --quiet "${action#unit:}"; then restart=yes; fi ;;
esac
chown "$owner:$owner" "$tmp"
chmod "$mode" "$tmp"
mv -f "$tmp" "$dest"
echo "$dest: written"
case "$action" in
    none) ;;
    sysctl) sysctl -q -p "$dest" 2>&1 || echo "warning: could not apply $dest now (a container host?); it applies at boot" ;;
    tmpfiles) systemd-tmpfiles --create "$dest" 2>&1 || echo "warning: could not apply $dest now (a container host?); it applies at boot" ;;
    unit:*)
        systemctl daemon-reload
        if [ "$restart" = yes ]; then
            mkdir -p "$pending" && touch "$pending/${action#unit:}"
            echo "${action#unit:}: restart pending (done by the rolling restart step)"
        fi ;;
    *) echo "put-file: unknown action $action" >&2; exit 2 ;;
esac
