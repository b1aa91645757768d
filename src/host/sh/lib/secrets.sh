# The host's secrets: SECRETS_FILE holds one NAME=value line per secret
# (src/host/secrets.ts writes it). load_secrets sets SECRET_<NAME> for each and
# fails unless every one of SECRET_NAMES is there; fill_placeholders replaces
# each placeholder (printf format SECRET_PLACEHOLDER) with its secret.
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
secret_of() { eval "printf '%s' \"\${SECRET_$1}\""; }

fill_placeholders() { # file
    # index/substr, not gsub: no regex or '&' surprises whatever a secret holds.
    SECRET_NAMES=$SECRET_NAMES SECRET_PLACEHOLDER=$SECRET_PLACEHOLDER awk '
        BEGIN { n = split(ENVIRON["SECRET_NAMES"], names, " ") }
        {
            line = $0
            for (j = 1; j <= n; j++) {
                token = sprintf(ENVIRON["SECRET_PLACEHOLDER"], names[j])
                value = ENVIRON["SECRET_" names[j]]
                out = ""
                while ((i = index(line, token)) > 0) {
                    out = out substr(line, 1, i - 1) value
                    line = substr(line, i + length(token))
                }
                line = out line
            }
            print line
        }' "$1"
}
