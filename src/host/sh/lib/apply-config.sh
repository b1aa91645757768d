# apply_config: installs a rendered redis.conf or sentinel.conf (stdin) on a host
# without ever taking from Redis or Sentinel what they own at run time. A
# function run in a subshell, so roll steps re-merge a file with it too.
#
# Inputs (variables): KIND redis|sentinel, TARGET the file, PORT the port it
# configures, SELF this node's announced address, PEERS "ip:port ..." of the
# other hosts' Sentinels. The rendered file carries placeholders instead of
# secrets; they are filled from SECRETS_FILE.
#
# First install: the rendered file is written with the stack's initial roles
# (replicaof / sentinel monitor) and, for a Sentinel, the state that lets the
# new cluster's Sentinels know each other from the start, unless a Sentinel of
# the running cluster (PEERS) names the current master: then a node that joins
# an existing cluster follows that master, and its Sentinel keeps only its own
# id (the others' ids are theirs; it learns them by hello).
# Later: what changed is the difference between the last rendered file (kept
# beside the target as TARGET + RENDERED_SUFFIX) and the new one, never between the
# rendered and the live file, which Redis and Sentinel rewrite themselves.
#   - redis: replicaof/slaveof lines of the live file are kept; changed
#     directives are applied with CONFIG SET while the server runs.
#   - sentinel: its state (SENTINEL_STATE_OPTIONS: myid, epochs, known-replica,
#     known-sentinel) and the monitored master's address are kept from the live
#     file (the render's state lines are for a first install only);
#     SENTINEL_LIVE_OPTIONS change with SENTINEL SET.
#   - credentials (AUTH_DIRECTIVES) are written, never applied: the acl and
#     auth-links steps change them live;
#   - a change that needs a restart is written but not applied while the
#     service runs: PENDING_DIR/<unit> marks it for the rolling restart, which
#     restarts one node at a time.
apply_config() (
set -eu
export LC_ALL=C
kind=$KIND target=$TARGET port=$PORT self=$SELF peers=$PEERS
case $kind in
    redis) unit=$REDIS_UNIT who=data ;;
    sentinel) unit=$SENTINEL_UNIT who=sentinel ;;
    *) echo "apply-config: KIND is redis or sentinel, not $kind" >&2; exit 2 ;;
esac

# One writer of a host's config files at a time: the config and user steps of a
# host run side by side. The lock is on the file's directory and ends with this
# subshell.
exec 9<"$(dirname "$target")"
flock -w "$CONFIG_LOCK_TIMEOUT" 9 || { echo "apply-config: $target stayed locked by another step for ${CONFIG_LOCK_TIMEOUT}s" >&2; exit 1; }

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The render: stdin, or for a refill (RENDERED_FROM) the last render kept beside
# the file, read only now that the lock is held: a config step may have replaced
# it while this one waited, and the older one would undo that step's changes.
if [ -n "${RENDERED_FROM:-}" ]; then
    [ -f "$RENDERED_FROM" ] || exit 0
    cat "$RENDERED_FROM" > "$work/rendered"
else
    cat > "$work/rendered"
fi
load_secrets "$SECRETS_FILE"

install_file() { # src dest
    chown "$SERVICE_USER:$SERVICE_USER" "$1"
    chmod 0640 "$1"
    mv -f "$1" "$2"
}

save_rendered() {
    cp "$work/rendered" "$work/rendered.keep"
    chmod 0600 "$work/rendered.keep"
    mv -f "$work/rendered.keep" "$target$RENDERED_SUFFIX"
}

lport=$(listening_port "$unit" "$port")
running() { rcli_reply "$who" 127.0.0.1 "$lport" PING | grep -q PONG; }

# The master the running cluster's Sentinels name ("ip port"), if any answers.
current_master() {
    for peer in $peers; do
        a=$(probe_reply sentinel "${peer%:*}" "${peer##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" | tr '\n' ' ')
        if printf '%s\n' "$a" | grep -Eq '^[0-9A-Fa-f.:]+ [0-9]+ $'; then echo "${a% }"; return 0; fi
    done
}

if [ ! -f "$target" ]; then
    cur=$(current_master)
    if [ -n "$cur" ]; then
        echo "$kind: joining the running cluster, whose master is $cur"
        awk -v kind="$kind" -v master="$MASTER_NAME" -v ip="${cur% *}" -v p="${cur#* }" -v self="$self" '
            kind == "redis" && ($1 == "replicaof" || $1 == "slaveof") { next }
            kind == "sentinel" && $1 == "sentinel" && $2 ~ /^known-/ { next }
            kind == "sentinel" && $1 == "sentinel" && $2 == "monitor" && $3 == master { $4 = ip; $5 = p }
            { print }
            END { if (kind == "redis" && ip != self) print "replicaof " ip " " p }' "$work/rendered" > "$work/first"
    else
        cp "$work/rendered" "$work/first"
    fi
    fill_placeholders "$work/first" > "$work/full"
    tmp=$(mktemp "$target.XXXXXX")
    cat "$work/full" > "$tmp"
    install_file "$tmp" "$target"
    save_rendered
    echo "$kind: installed $target"
    exit 0
fi

# key<TAB>value per directive; for Sentinel the key is "sentinel <option>" and
# the master name is dropped from the value.
directives() {
    awk -v kind="$kind" -v master="$MASTER_NAME" -v state=" $SENTINEL_STATE_OPTIONS " '
        /^[ \t]*(#|$)/ { next }
        # Sentinel state is never a setting of the stack (kept from the live file).
        kind == "sentinel" && $1 == "sentinel" && index(state, " " $2 " ") { next }
        {
            k = $1; from = 2
            if (kind == "sentinel" && $1 == "sentinel" && $2 == "monitor") {
                # address and port belong to Sentinel; only the quorum is ours
                print "sentinel monitor\t" $4 " " $5
                print "sentinel quorum\t" $6
                next
            }
            if (kind == "sentinel" && $1 == "sentinel") {
                k = $1 " " $2; from = 3
                if ($3 == master) from = 4
            }
            v = ""
            for (i = from; i <= NF; i++) v = v (v == "" ? "" : " ") $i
            print k "\t" v
        }' "$1" | sort
}

if [ -f "$target$RENDERED_SUFFIX" ]; then directives "$target$RENDERED_SUFFIX" > "$work/old"; else : > "$work/old"; fi
directives "$work/rendered" > "$work/new"
# changed or added directives (whole lines new in the render), and removed ones
comm -13 "$work/old" "$work/new" > "$work/changed"
awk -F '\t' 'NR == FNR { seen[$1] = 1; next } !($1 in seen) { print $1 }' "$work/new" "$work/old" | sort -u > "$work/removed"

# A node running TLS whose render has none (tls.enabled turned off): refused
# before anything changes. Undone node by node it would strand the nodes still
# on TLS (a replica restarted onto plaintext cannot reach a master on TLS).
if grep -q '^tls-port ' "$target" && ! grep -q '^tls-port	' "$work/new"; then
    echo "apply-config: refused: $target has tls-port, so this host runs a TLS cluster; switching a running cluster from TLS back to plaintext is not supported. Set tls.enabled back to true (pulumi config set --path tls.enabled true)" >&2
    exit 5
fi

# Decide what each change needs before touching anything.
: > "$work/live"
: > "$work/restart"
# A data node that runs without TLS while the render asks for it (put-tls.sh:
# a running plaintext cluster switched to TLS): its TLS settings and its port
# change go live together (work/switch), never through a restart. A replica
# restarted onto TLS could not reach a master still on plaintext, and a master
# restarted would move; CONFIG SET closes the plaintext port and opens the TLS
# one on the same number while every open connection (clients, replication,
# the Sentinels) stays up.
: > "$work/switch"
switching=no
if [ "$kind" = redis ] && grep -q '^tls-port	' "$work/new" && ! grep -q '^tls-port ' "$target"; then switching=yes; fi
# Credentials (AUTH_DIRECTIVES) belong to the acl and auth-links steps, which
# change them live; here they are only written to the file.
is_auth() { printf '%s\n' "$AUTH_DIRECTIVES" | grep -qxF "$1"; }
while IFS="$(printf '\t')" read -r k v; do
    if is_auth "$k"; then continue; fi
    if [ "$switching" = yes ]; then
        case $k in port | tls-*) printf '%s\t%s\n' "$k" "$v" >> "$work/switch"; continue ;; esac
    fi
    case "$kind: $RESTART_DIRECTIVES " in
        "redis:"*" $k "*) echo "$k" >> "$work/restart"; continue ;;
    esac
    case "$kind:$k" in
        redis:replicaof|redis:slaveof)
            : ;; # topology belongs to Sentinel after the first install
        redis:*)
            printf '%s\t%s\n' "$k" "$v" >> "$work/live" ;;
        "sentinel:sentinel monitor")
            : ;; # the monitored master belongs to Sentinel after the first install
        "sentinel:sentinel "*)
            case " $SENTINEL_LIVE_OPTIONS " in
                *" ${k#sentinel } "*) printf '%s\t%s\n' "${k#sentinel }" "$v" >> "$work/live" ;;
                *) echo "$k" >> "$work/restart" ;;
            esac ;;
        *)
            echo "$k" >> "$work/restart" ;;
    esac
done < "$work/changed"
while read -r k; do is_auth "$k" || echo "$k"; done < "$work/removed" >> "$work/restart"

restart_needed=no
if running; then
    while IFS="$(printf '\t')" read -r k v; do
        if [ "$kind" = redis ]; then
            if [ "$v" = '""' ]; then
                out=$(rcli data 127.0.0.1 "$lport" CONFIG SET "$k" "")
            else
                out=$(rcli data 127.0.0.1 "$lport" CONFIG SET "$k" "$v")
            fi
        else
            out=$(rcli sentinel 127.0.0.1 "$lport" SENTINEL SET "$MASTER_NAME" "$k" "$v")
        fi
        case "$out" in
            OK) echo "$kind: applied $k $v live" ;;
            *immutable*) echo "$k" >> "$work/restart" ;; # Redis says: only at start
            *)
                echo "apply-config: $kind on port $lport refused $k $v: $out" >&2
                exit 4 ;;
        esac
    done < "$work/live"
    if [ -s "$work/switch" ]; then
        # One CONFIG SET: the TLS files and settings first, then the plaintext
        # port (closing it frees the number), then tls-port (which takes it).
        set --
        while IFS="$(printf '\t')" read -r k v; do
            case $k in port | tls-port) ;; *) set -- "$@" "$k" "$v" ;; esac
        done < "$work/switch"
        for k in port tls-port; do
            v=$(awk -F '\t' -v k="$k" '$1 == k { print $2 }' "$work/switch")
            if [ -n "$v" ]; then set -- "$@" "$k" "$v"; fi
        done
        out=$(rcli data 127.0.0.1 "$lport" CONFIG SET "$@")
        if [ "$out" != OK ]; then
            echo "apply-config: redis on port $lport refused the switch to TLS ($*): $out" >&2
            exit 4
        fi
        echo "redis: switched to TLS live: $*"
    fi
    if [ -s "$work/restart" ]; then
        restart_needed=yes
        echo "$kind: needs a restart for: $(sort -u "$work/restart" | tr '\n' ' ')(done by the rolling restart step)"
    fi
elif systemctl is-active --quiet "$unit" && { [ -s "$work/live" ] || [ -s "$work/restart" ] || [ -s "$work/switch" ]; }; then
    # Up but not answering (loading its data, say): nothing can be applied live,
    # so the rolling restart applies all of it.
    restart_needed=yes
    echo "$kind: running but not answering on port $lport; the rolling restart step applies the change"
fi

# Merge: the new rendered file, plus what the running service owns from the live file.
fill_placeholders "$work/rendered" > "$work/full"
if [ "$kind" = redis ]; then
    awk 'NR == FNR { if ($1 == "replicaof" || $1 == "slaveof") keep = keep $0 "\n"; next }
         $1 == "replicaof" || $1 == "slaveof" { next }
         { print }
         END { printf "%s", keep }' "$target" "$work/full" > "$work/merged"
else
    awk -v master="$MASTER_NAME" -v options=" $SENTINEL_STATE_OPTIONS " '
        NR == FNR {
            if ($1 == "sentinel" && $2 == "monitor" && $3 == master) { ip = $4; p = $5 }
            else if ($1 == "sentinel" && index(options, " " $2 " ")) state = state $0 "\n"
            next
        }
        # the state lines of the render were for the first install; the live ones follow
        $1 == "sentinel" && index(options, " " $2 " ") { next }
        $1 == "sentinel" && $2 == "monitor" && $3 == master && ip != "" { $4 = ip; $5 = p }
        { print }
        END { printf "%s", state }' "$target" "$work/full" > "$work/merged"
fi

if cmp -s "$work/merged" "$target"; then
    save_rendered
    echo "$kind: $target already up to date"
    exit 0
fi
tmp=$(mktemp "$target.XXXXXX")
cat "$work/merged" > "$tmp"
install_file "$tmp" "$target"
save_rendered
if [ "$restart_needed" = yes ]; then mkdir -p "$PENDING_DIR" && touch "$PENDING_DIR/$unit"; fi
echo "$kind: updated $target"
)

# refill_config: the file made again from its last render (same directives,
# so nothing is applied or restarted) with the secrets file's current values
# and what the service owns: after a credential changed live, or while the
# service is stopped.
refill_config() { # kind file port
    (KIND=$1 TARGET=$2 PORT=$3 SELF= PEERS= RENDERED_FROM=$2$RENDERED_SUFFIX; apply_config)
}
