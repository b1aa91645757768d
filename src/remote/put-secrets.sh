# put-secrets: stores the passwords (stdin, KEY=VALUE lines) in a root-only file
# that the config steps read; they never appear on a command line.
#
#   sh -c "$script" put-secrets FILE < secrets
set -eu
file=$1
umask 077
tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
grep -q '^REDIS_PASSWORD=.' "$tmp" && grep -q '^SENTINEL_PASSWORD=.' "$tmp" || {
    echo "put-secrets: both passwords are required" >&2
    exit 2
}
# Running means the unit is active, whatever port it answers on now.
if [ -f "$file" ] && ! cmp -s "$tmp" "$file" && { systemctl is-active --quiet redis-server || systemctl is-active --quiet redis-sentinel; }; then
    echo "put-secrets: the passwords changed while Redis runs; rotating them on a live cluster is not supported yet. Nothing was changed." >&2
    exit 3
fi
chmod 0600 "$tmp"
mv -f "$tmp" "$file"
echo "secrets stored"
