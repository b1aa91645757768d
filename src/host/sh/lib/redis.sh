# redis-cli as the deployer, authenticated with the secret for what it talks to
# (DATA_AUTH_SECRET for a data node, SENTINEL_AUTH_SECRET for a Sentinel), so no
# script handles a password itself. Needs load_secrets first.
#   rcli data|sentinel HOST PORT ARGS...        the reply and any error, \r removed
#   rcli_reply data|sentinel HOST PORT ARGS...  the reply only (errors dropped)
#   rcli_raw data|sentinel HOST PORT ARGS...    the reply; errors go to stderr
#   probe_reply data|sentinel HOST PORT ARGS... rcli_reply that gives up on a
#                                               silent peer after PEER_PROBE_TIMEOUT s
_rcli_wait=
_rcli() {
    case $1 in
        data) _auth=$(secret_of "$DATA_AUTH_SECRET") ;;
        sentinel) _auth=$(secret_of "$SENTINEL_AUTH_SECRET") ;;
        *) echo "rcli: data or sentinel, not $1" >&2; return 2 ;;
    esac
    _h=$2 _p=$3
    shift 3
    if [ -n "$_rcli_wait" ]; then
        REDISCLI_AUTH=$_auth timeout "$_rcli_wait" "$REDIS_CLI" -h "$_h" -p "$_p" "$@"
    else
        REDISCLI_AUTH=$_auth "$REDIS_CLI" -h "$_h" -p "$_p" "$@"
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
