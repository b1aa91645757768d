# put-secrets: stores the passwords (stdin, KEY=VALUE lines) in a root-only file
# that the config steps read; they never appear on a command line.
#
#   sh -c "$script" put-secrets FILE REDIS_PORT CLI < secrets
set -eu
file=$1 port=$2 cli=$3
umask 077
tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
grep -q '^REDIS_PASSWORD=.' "$tmp" && grep -q '^SENTINEL_PASSWORD=.' "$tmp" || {
    echo "put-secrets: both passwords are required" >&2
    exit 2
}
if [ -f "$file" ] && ! cmp -s "$tmp" "$file" && [ -x "$cli" ] && "$cli" -h 127.0.0.1 -p "$port" PING 2>&1 | grep -q 'PONG\|NOAUTH'; then
    echo "put-secrets: the passwords changed while Redis runs; rotating them on a live cluster is not supported yet. Nothing was changed." >&2
    exit 3
fi
chmod 0600 "$tmp"
mv -f "$tmp" "$file"
echo "secrets stored"
