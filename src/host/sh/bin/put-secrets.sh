# put-secrets: stores the secrets (stdin, NAME=value lines) in SECRETS_FILE,
# root-only; the other steps read it, so no secret is ever on a command line.
# A changed value starts a rotation: the old one is kept as PREVIOUS_<NAME>
# (still valid on the nodes until the acl step retires it), and a credential
# the stored file did not have is listed in NEW_SECRETS (no node knows it yet).
umask 077
tmp=$(mktemp "$SECRETS_FILE.XXXXXX")
trap 'rm -f "$tmp" "$tmp.in"' EXIT
cat > "$tmp.in"
for name in $SECRET_NAMES; do
    grep -q "^$name=." "$tmp.in" || { echo "put-secrets: $name is required" >&2; exit 2; }
done
if [ ! -f "$SECRETS_FILE" ]; then
    # First install: nothing runs yet, nothing to rotate.
    cp "$tmp.in" "$tmp"
else
    # old and new values, one per line "NAME value": never as arguments of a process.
    awk '
        function value(line) { return substr(line, index(line, "=") + 1) }
        NR == FNR {
            n = substr($0, 1, index($0, "=") - 1)
            if (n ~ /^PREVIOUS_/) prev[substr(n, 10)] = value($0)
            else if (n == "NEW_SECRETS") { split(value($0), a, " "); for (i in a) fresh[a[i]] = 1 }
            else if (n != "") old[n] = value($0)
            next
        }
        {
            n = substr($0, 1, index($0, "=") - 1); v = value($0)
            if (n == "") next
            print
            if (!(n in old)) { if (had_file) newlist = newlist " " n; next }
            if (n in fresh) newlist = newlist " " n
            p = (n in prev) ? prev[n] : ""
            if (old[n] != v && index(" " p " ", " " old[n] " ") == 0) p = old[n] (p == "" ? "" : " " p)
            # the new value is never its own previous one (a rotation back to an old password)
            out = ""; k = split(p, ps, " ")
            for (i = 1; i <= k; i++) if (ps[i] != v) out = out (out == "" ? "" : " ") ps[i]
            if (out != "") print "PREVIOUS_" n "=" out
        }
        END { sub(/^ /, "", newlist); if (newlist != "") print "NEW_SECRETS=" newlist }
    ' had_file=1 "$SECRETS_FILE" "$tmp.in" > "$tmp"
fi
chmod 0600 "$tmp"
if cmp -s "$tmp" "$SECRETS_FILE"; then
    echo "secrets unchanged"
    exit 0
fi
mv -f "$tmp" "$SECRETS_FILE"
rotating=$(sed -n 's/^PREVIOUS_\([A-Z0-9_]*\)=.*/\1/p; s/^NEW_SECRETS=\(.*\)/\1 (new)/p' "$SECRETS_FILE" | paste -sd' ' -)
if [ -n "$rotating" ]; then echo "secrets stored; rotating: $rotating"; else echo "secrets stored"; fi
