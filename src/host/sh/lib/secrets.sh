# The host's secrets: SECRETS_FILE holds one NAME=value line per secret
# (src/host/secrets.ts writes it, and says what PREVIOUS_<NAME> and
# NEW_SECRETS lines mean). load_secrets sets SECRET_<NAME> for each line and
# fails unless every one of SECRET_NAMES is there; fill_placeholders replaces
# each placeholder (printf formats SECRET_PLACEHOLDER and HASHES_PLACEHOLDER)
# with its secret or its password hashes.
_read_secrets() { # NAME=value lines on stdin
    while IFS= read -r _line || [ -n "$_line" ]; do
        _name=${_line%%=*}
        case $_name in '' | *[!A-Z0-9_]*) continue ;; esac
        # The value is expanded, never parsed: any character is safe.
        eval "SECRET_$_name=\${_line#*=}"
        export "SECRET_$_name"
    done
}
load_secrets() { # file ("-": stdin, read as it is: opening /dev/stdin fails when it is a socket)
    if [ "$1" = - ]; then _read_secrets; else _read_secrets < "$1"; fi
    for _name in $SECRET_NAMES; do
        eval "_value=\${SECRET_$_name:-}"
        if [ -z "$_value" ]; then
            echo "$1 does not hold $_name" >&2
            exit 2
        fi
    done
}

# The secret named by a variable's value: secret_of DATA_AUTH_SECRET.
secret_of() { eval "printf '%s' \"\${SECRET_$1:-}\""; }
# Its previous values still valid during a rotation, space-separated (passwords hold no spaces).
previous_of() { eval "printf '%s' \"\${SECRET_PREVIOUS_$1:-}\""; }
# Whether a rotation is under way on this host: the secrets file keeps previous
# values, or lists credentials no node knew (put-secrets writes both).
secrets_rotating() { grep -q -e '^PREVIOUS_' -e '^NEW_SECRETS=' "$1"; } # file
# Whether no node knew this credential before the rotation in progress.
is_new_secret() { case " ${SECRET_NEW_SECRETS:-} " in *" $1 "*) return 0 ;; esac; return 1; }

# sha256 hex of a value; printf is a shell builtin, so the value is never an argument of a process.
sha256_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
# "#<sha256> ..." of a secret's value and of its previous values: an ACL user's passwords.
hashes_of() { # NAME
    _hs="#$(sha256_of "$(secret_of "$1")")"
    for _p in $(previous_of "$1"); do _hs="$_hs #$(sha256_of "$_p")"; done
    printf '%s' "$_hs"
}

fill_placeholders() { # file
    for _name in $SECRET_NAMES; do
        eval "SECRET_HASHES_$_name=\$(hashes_of \"\$_name\")"
        export "SECRET_HASHES_$_name"
    done
    # index/substr, not gsub: no regex or '&' surprises whatever a secret holds.
    SECRET_NAMES=$SECRET_NAMES SECRET_PLACEHOLDER=$SECRET_PLACEHOLDER HASHES_PLACEHOLDER=$HASHES_PLACEHOLDER awk '
        function replace(line, token, value,    out, i) {
            out = ""
            while ((i = index(line, token)) > 0) {
                out = out substr(line, 1, i - 1) value
                line = substr(line, i + length(token))
            }
            return out line
        }
        BEGIN { n = split(ENVIRON["SECRET_NAMES"], names, " ") }
        {
            line = $0
            for (j = 1; j <= n; j++) {
                line = replace(line, sprintf(ENVIRON["HASHES_PLACEHOLDER"], names[j]), ENVIRON["SECRET_HASHES_" names[j]])
                line = replace(line, sprintf(ENVIRON["SECRET_PLACEHOLDER"], names[j]), ENVIRON["SECRET_" names[j]])
            }
            print line
        }' "$1"
}
