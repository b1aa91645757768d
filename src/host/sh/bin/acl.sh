# acl: sets this host's ACL users, live and in the config files, from
# DATA_USERS (the data node's) and SENTINEL_USERS (the Sentinel's): one
# `user NAME reset on|off [PASSWORD HASHES] RULES` line each, the hashes filled
# from the secrets file. PHASE:
#   add     every current and previous password is valid (a rotation's start:
#           links switch to the new ones only after every host has them);
#   retire  the previous passwords are dropped, from the secrets file first (so
#           this script and every later one use the current ones), then from
#           the users; with KEEP_PREVIOUS=yes an application's (APP_SECRETS)
#           stay until an up without it.
# Users the lines do not name are deleted. A node that is not running gets its
# users from its config file when it starts.
# FIRST_RUN=yes (the step has just been created): nodes installed by this same up
# started with these users and passwords from their config files, so there is
# nothing to do unless the host ran before (credentials new to it, or rotating:
# an upgrade from a stack without these users).
load_secrets "$SECRETS_FILE"
if [ "$FIRST_RUN" = yes ] && ! secrets_rotating "$SECRETS_FILE"; then
    echo "users ($PHASE): as the config files have them (first install)"
    exit 0
fi
set -f # rules hold * and ?, never file names

if [ "$PHASE" = retire ]; then
    umask 077
    tmp=$(mktemp "$SECRETS_FILE.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    keep=
    [ "$KEEP_PREVIOUS" = yes ] && keep=" $APP_SECRETS "
    awk -v keep="$keep" '
        /^NEW_SECRETS=/ { next }
        /^PREVIOUS_/ { n = substr($0, 10, index($0, "=") - 10); if (index(keep, " " n " ") == 0) next }
        { print }' "$SECRETS_FILE" > "$tmp"
    for name in $(sed -n 's/^PREVIOUS_\([A-Z0-9_]*\)=.*/\1/p' "$SECRETS_FILE"); do
        grep -q "^PREVIOUS_$name=" "$tmp" || { unset "SECRET_PREVIOUS_$name"; echo "retired the previous $name"; }
    done
    unset SECRET_NEW_SECRETS
    chmod 0600 "$tmp"
    mv -f "$tmp" "$SECRETS_FILE"
fi

apply_users() { # data|sentinel unit port lines
    _who=$1 _unit=$2
    _lport=$(listening_port "$2" "$3")
    if ! rcli_reply "$_who" 127.0.0.1 "$_lport" PING | grep -q PONG; then
        echo "$_unit: not answering; its users are in its config file"
        return 0
    fi
    printf '%s\n' "$4" | fill_placeholders - | while read -r _kw _name _rules; do
        [ "$_kw" = user ] || continue
        # word-split on purpose: one ACL rule per argument (globbing is off)
        _out=$(rcli "$_who" 127.0.0.1 "$_lport" ACL SETUSER "$_name" $_rules)
        [ "$_out" = OK ] || { echo "acl: $_unit refused the rules of user $_name: $_out" >&2; exit 4; }
    done
    # The stack's users are the only ones: a user it no longer lists (an aclUsers
    # entry removed, monitorPassword unset) is deleted, and its connections closed.
    _want=" $(printf '%s\n' "$4" | awk '$1 == "user" { printf "%s ", $2 }')"
    _have=$(rcli "$_who" 127.0.0.1 "$_lport" ACL USERS)
    case "$_have" in
        *ERR* | *NOPERM* | *NOAUTH* | *WRONGPASS* | *"Could not connect"*)
            echo "acl: $_unit did not list its users: $_have" >&2; exit 4 ;;
    esac
    for _u in $_have; do
        case "$_want" in *" $_u "*) continue ;; esac
        _out=$(rcli "$_who" 127.0.0.1 "$_lport" ACL DELUSER "$_u")
        case "$_out" in 1) echo "$_unit: deleted user $_u, which the stack no longer has" ;; *) echo "acl: $_unit did not delete user $_u: $_out" >&2; exit 4 ;; esac
    done
    # A Sentinel keeps its users in its own file: it writes them now.
    if [ "$_who" = sentinel ]; then
        _out=$(rcli sentinel 127.0.0.1 "$_lport" SENTINEL FLUSHCONFIG)
        [ "$_out" = OK ] || { echo "acl: $_unit did not save its config: $_out" >&2; exit 4; }
    fi
    echo "$_unit: users set ($(printf '%s\n' "$4" | awk '$1 == "user" { printf "%s%s", sep, $2; sep = " " }'))"
}
apply_users data "$REDIS_UNIT" "$REDIS_PORT" "$DATA_USERS"
apply_users sentinel "$SENTINEL_UNIT" "$SENTINEL_PORT" "$SENTINEL_USERS"
# The files as the nodes now are (their users' hashes, current and still-valid previous).
refill_config redis "$REDIS_CONF" "$REDIS_PORT"
refill_config sentinel "$SENTINEL_CONF" "$SENTINEL_PORT"
