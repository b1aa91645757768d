# put-file: writes stdin to DEST with OWNER and MODE, atomically and only when
# the content differs, then runs ACTION.
#
#   sh -c "$script" put-file DEST OWNER MODE ACTION < content
#
# ACTION: none | sysctl (load it now; a container may refuse, which is only a
# warning) | tmpfiles (apply it now, same) | unit:NAME (systemctl daemon-reload;
# a change to the unit of a running service is refused, because it would only
# take effect at a restart that this deployer does not do behind your back).
set -eu
dest=$1 owner=$2 mode=$3 action=$4
umask 077
tmp=$(mktemp "$dest.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    echo "$dest: up to date"
    exit 0
fi
case "$action" in
    unit:*)
        unit=${action#unit:}
        if [ -f "$dest" ] && systemctl is-active --quiet "$unit"; then
            echo "put-file: $dest changed while $unit is running; the change needs a restart, which this deployer does not do yet. Nothing was changed." >&2
            exit 3
        fi ;;
esac
chown "$owner:$owner" "$tmp"
chmod "$mode" "$tmp"
mv -f "$tmp" "$dest"
echo "$dest: written"
case "$action" in
    none) ;;
    sysctl) sysctl -q -p "$dest" 2>&1 || echo "warning: could not apply $dest now (a container host?); it applies at boot" ;;
    tmpfiles) systemd-tmpfiles --create "$dest" 2>&1 || echo "warning: could not apply $dest now (a container host?); it applies at boot" ;;
    unit:*) systemctl daemon-reload ;;
    *) echo "put-file: unknown action $action" >&2; exit 2 ;;
esac
