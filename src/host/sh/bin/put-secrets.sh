# put-secrets: stores the secrets (stdin, NAME=value lines) in SECRETS_FILE,
# root-only; the other steps read it, so no secret is ever on a command line.
umask 077
tmp=$(mktemp "$SECRETS_FILE.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
for name in $SECRET_NAMES; do
    grep -q "^$name=." "$tmp" || { echo "put-secrets: $name is required" >&2; exit 2; }
done
# Running means the unit is active, whatever port it answers on now.
if [ -f "$SECRETS_FILE" ] && ! cmp -s "$tmp" "$SECRETS_FILE" &&
   { systemctl is-active --quiet "$REDIS_UNIT" || systemctl is-active --quiet "$SENTINEL_UNIT"; }; then
    echo "put-secrets: the passwords changed while Redis runs; rotating them on a live cluster is not supported yet. Nothing was changed." >&2
    exit 3
fi
chmod 0600 "$tmp"
mv -f "$tmp" "$SECRETS_FILE"
echo "secrets stored"
