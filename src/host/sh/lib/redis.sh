# redis-cli as the deployer, authenticated for what it talks to: on a data node
# as DATA_AUTH_USER (DATA_AUTH_SECRET), on a Sentinel as SENTINEL_AUTH_USER
# (SENTINEL_AUTH_SECRET), so no script handles a password itself. The password
# reaches redis-cli in REDISCLI_AUTH, never as an argument. Needs load_secrets first.
#   rcli data|sentinel HOST PORT ARGS...        the reply and any error, \r removed
#   rcli_reply data|sentinel HOST PORT ARGS...  the reply only (errors dropped)
#   rcli_raw data|sentinel HOST PORT ARGS...    the reply; errors go to stderr
#   probe_reply data|sentinel HOST PORT ARGS... rcli_reply that gives up on a
#                                               silent peer after PEER_PROBE_TIMEOUT s
# ARGS may end with -x: the last argument is then read from stdin (a secret).
#
# During a rotation a node may know the previous password, the new one, or
# both, and before the first ACL deploy has finished, no deployer user at all:
# then the candidates are tried (PING, stdin closed) in the order that fails
# least (previous passwords first; the default user first while the deployer
# user is new), and the first that works is used.
_rcli_wait=
_candidates() { # data|sentinel: "user secret-name index" lines, index into the secret's values (0 current, n previous)
    case $1 in
        data)
            if is_new_secret "$DATA_AUTH_SECRET"; then _c_order="$DATA_FALLBACK_USER:$DATA_FALLBACK_SECRET $DATA_AUTH_USER:$DATA_AUTH_SECRET"
            else _c_order="$DATA_AUTH_USER:$DATA_AUTH_SECRET"; fi ;;
        sentinel) _c_order="$SENTINEL_AUTH_USER:$SENTINEL_AUTH_SECRET" ;;
    esac
    for _c in $_c_order; do
        _i=0
        for _p in $(previous_of "${_c#*:}"); do _i=$((_i + 1)); echo "${_c%%:*} ${_c#*:} $_i"; done
        echo "${_c%%:*} ${_c#*:} 0"
    done
}
_value_of() { # secret-name index
    if [ "$2" = 0 ]; then secret_of "$1"; else printf '%s\n' $(previous_of "$1") | sed -n "$2p" | tr -d '\n'; fi
}
# Sets _user and _auth for WHO at HOST:PORT.
_credential() { # data|sentinel host port
    case $1 in
        data) _cu=$DATA_AUTH_USER _cs=$DATA_AUTH_SECRET ;;
        sentinel) _cu=$SENTINEL_AUTH_USER _cs=$SENTINEL_AUTH_SECRET ;;
    esac
    # No rotation of this login under way (the usual case): one candidate, found
    # without starting a process (a host step makes hundreds of these calls).
    eval "_cp=\${SECRET_PREVIOUS_$_cs:-}"
    if [ -z "$_cp" ] && ! is_new_secret "$_cs"; then
        _user=$_cu
        eval "_auth=\${SECRET_$_cs:-}"
        return 0
    fi
    _list=$(_candidates "$1")
    _first=$(printf '%s\n' "$_list" | head -n1)
    _user=${_first%% *}; _auth=$(_value_of ${_first#* })
    # One candidate (no rotation going on): nothing to choose.
    [ "$(printf '%s\n' "$_list" | wc -l)" -gt 1 ] || return 0
    while read -r _cu _cs _ci; do
        _try=$(REDISCLI_AUTH=$(_value_of "$_cs" "$_ci") timeout "$PEER_PROBE_TIMEOUT" "$REDIS_CLI" -h "$2" -p "$3" --user "$_cu" PING </dev/null 2>&1) || true
        case $_try in
            *WRONGPASS* | *NOAUTH* | *"AUTH failed"*) continue ;;
            *PONG* | *LOADING* | *MASTERDOWN* | *BUSY*) _user=$_cu; _auth=$(_value_of "$_cs" "$_ci"); return 0 ;;
            *) return 0 ;; # down or silent: nothing learnt, the call itself will say
        esac
    done <<EOF_CANDIDATES
$_list
EOF_CANDIDATES
}
_rcli() {
    case $1 in
        data | sentinel) _credential "$1" "$2" "$3" ;;
        *) echo "rcli: data or sentinel, not $1" >&2; return 2 ;;
    esac
    _h=$2 _p=$3
    shift 3
    if [ -n "$_rcli_wait" ]; then
        REDISCLI_AUTH=$_auth timeout "$_rcli_wait" "$REDIS_CLI" -h "$_h" -p "$_p" --user "$_user" "$@"
    else
        REDISCLI_AUTH=$_auth "$REDIS_CLI" -h "$_h" -p "$_p" --user "$_user" "$@"
    fi
}
rcli() { _rcli "$@" 2>&1 | tr -d '\r'; }
rcli_reply() { _rcli "$@" 2>/dev/null | tr -d '\r'; }
rcli_raw() { _rcli "$@"; }
probe_reply() {
    _rcli_wait=$PEER_PROBE_TIMEOUT
    _rcli "$@" 2>/dev/null | tr -d '\r'
    _rcli_wait=
}

# Readers of redis-cli's replies.
# info_field INFO KEY: the value of KEY in an INFO reply.
info_field() { printf '%s\n' "$1" | sed -n "s/^$2://p" | head -n1; }
# reply_value KEY: the value after KEY in a reply printed as key and value lines (stdin).
reply_value() { awk -v k="$1" 'prev == k { print; exit } { prev = $0 }'; }

# redis-cli logged in as USER with the secret SECRET (not the deployer): what
# the verification uses to prove each user's password and rules.
rcli_as() { # user secret host port args...
    _ru=$1 _rs=$2 _rh=$3 _rp=$4
    shift 4
    REDISCLI_AUTH=$(secret_of "$_rs") "$REDIS_CLI" -h "$_rh" -p "$_rp" --user "$_ru" "$@" 2>&1 | tr -d '\r'
}
