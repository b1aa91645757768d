# apply-config: installs a rendered redis.conf or sentinel.conf on a host without
# ever taking from Redis or Sentinel what they own at run time.
#
#   sh -c "$script" apply-config KIND TARGET OWNER SECRETS CLI PORT MASTER_NAME PENDING_DIR RESTART_DIRECTIVES SELF PEERS < rendered
#
# KIND is redis or sentinel. The rendered file arrives on stdin with password
# placeholders; the passwords come from SECRETS (root-only, written by the
# secrets step), so no secret ever travels on a command line.
#
# First install: the rendered file is written with the stack's initial roles
# (replicaof / sentinel monitor), unless a Sentinel of the running cluster
# (PEERS: "ip:port ..." of the other hosts' Sentinels) names the current
# master: then a node that joins an existing cluster follows that master.
# Later: what changed is the difference between the last rendered file (kept
# beside the target as TARGET.rendered) and the new one, never between the
# rendered and the live file, which Redis and Sentinel rewrite themselves.
#   - redis: replicaof/slaveof lines of the live file are kept; changed
#     directives are applied with CONFIG SET while the server runs.
#   - sentinel: myid, epochs, known-replica, known-sentinel and the monitored
#     master's address are kept; per-master settings change with SENTINEL SET.
#   - a change that needs a restart is written but not applied while the
#     service runs: PENDING_DIR/<unit> marks it for the rolling restart
#     (roll.sh), which restarts one node at a time.
set -eu
export LC_ALL=C
kind=$1 target=$2 owner=$3 secrets=$4 cli=$5 port=$6 master=$7 pending=$8 restart_directives=" $9 " self=${10} peers=${11}
if [ "$kind" = redis ]; then unit=redis-server; else unit=redis-sentinel; fi

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/rendered"

REDIS_PASSWORD=$(sed -n 's/^REDIS_PASSWORD=//p' "$secrets")
SENTINEL_PASSWORD=$(sed -n 's/^SENTINEL_PASSWORD=//p' "$secrets")
if [ -z "$REDIS_PASSWORD" ] || [ -z "$SENTINEL_PASSWORD" ]; then
    echo "apply-config: $secrets does not hold the passwords" >&2
    exit 2
fi
export REDIS_PASSWORD SENTINEL_PASSWORD
if [ "$kind" = redis ]; then REDISCLI_AUTH=$REDIS_PASSWORD; else REDISCLI_AUTH=$SENTINEL_PASSWORD; fi
export REDISCLI_AUTH

# Replace placeholders with the secrets (index/substr, not gsub: no regex or
# '&' surprises whatever the password holds).
fill() {
    awk '{
        line = $0
        while ((i = index(line, "@@REDIS_PASSWORD@@")) > 0)
            line = substr(line, 1, i - 1) ENVIRON["REDIS_PASSWORD"] substr(line, i + 18)
        while ((i = index(line, "@@SENTINEL_PASSWORD@@")) > 0)
            line = substr(line, 1, i - 1) ENVIRON["SENTINEL_PASSWORD"] substr(line, i + 21)
        print line
    }' "$1"
}

install_file() { # src dest
    chown "$owner:$owner" "$1"
    chmod 0640 "$1"
    mv -f "$1" "$2"
}

save_rendered() {
    cp "$work/rendered" "$work/rendered.keep"
    chmod 0600 "$work/rendered.keep"
    mv -f "$work/rendered.keep" "$target.rendered"
}

# listening_port UNIT DEFAULT: lib/listening-port.sh, put before this script.
lport=$(listening_port "$unit" "$port")
running() { "$cli" -h 127.0.0.1 -p "$lport" PING 2>/dev/null | grep -q PONG; }

# The master the running cluster's Sentinels name ("ip port"), if any answers.
current_master() {
    for peer in $peers; do
        a=$(REDISCLI_AUTH=$SENTINEL_PASSWORD timeout 3 "$cli" -h "${peer%:*}" -p "${peer##*:}" SENTINEL get-master-addr-by-name "$master" 2>/dev/null | tr '\n' ' ' || true)
        if printf '%s\n' "$a" | grep -Eq '^[0-9A-Fa-f.:]+ [0-9]+ $'; then echo "${a% }"; return 0; fi
    done
}

if [ ! -f "$target" ]; then
    cur=$(current_master)
    if [ -n "$cur" ]; then
        echo "$kind: joining the running cluster, whose master is $cur"
        awk -v kind="$kind" -v master="$master" -v ip="${cur% *}" -v p="${cur#* }" -v self="$self" '
            kind == "redis" && ($1 == "replicaof" || $1 == "slaveof") { next }
            kind == "sentinel" && $1 == "sentinel" && $2 == "monitor" && $3 == master { $4 = ip; $5 = p }
            { print }
            END { if (kind == "redis" && ip != self) print "replicaof " ip " " p }' "$work/rendered" > "$work/first"
    else
        cp "$work/rendered" "$work/first"
    fi
    fill "$work/first" > "$work/full"
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
    awk -v kind="$kind" -v master="$master" '
        /^[ \t]*(#|$)/ { next }
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

if [ -f "$target.rendered" ]; then directives "$target.rendered" > "$work/old"; else : > "$work/old"; fi
directives "$work/rendered" > "$work/new"
# changed or added directives (whole lines new in the render), and removed ones
comm -13 "$work/old" "$work/new" > "$work/changed"
awk -F '\t' 'NR == FNR { seen[$1] = 1; next } !($1 in seen) { print $1 }' "$work/new" "$work/old" | sort -u > "$work/removed"

# Decide what each change needs before touching anything.
: > "$work/live"
: > "$work/restart"
while IFS="$(printf '\t')" read -r k v; do
    case "$kind:$restart_directives" in
        redis:*" $k "*) echo "$k" >> "$work/restart"; continue ;;
    esac
    case "$kind:$k" in
        redis:replicaof|redis:slaveof)
            : ;; # topology belongs to Sentinel after the first install
        redis:*)
            printf '%s\t%s\n' "$k" "$v" >> "$work/live" ;;
        "sentinel:sentinel monitor")
            : ;; # the monitored master belongs to Sentinel after the first install
        "sentinel:sentinel quorum"|"sentinel:sentinel down-after-milliseconds"|\
        "sentinel:sentinel failover-timeout"|"sentinel:sentinel parallel-syncs")
            printf '%s\t%s\n' "${k#sentinel }" "$v" >> "$work/live" ;;
        *)
            echo "$k" >> "$work/restart" ;;
    esac
done < "$work/changed"
cat "$work/removed" >> "$work/restart"

restart_needed=no
if running; then
    while IFS="$(printf '\t')" read -r k v; do
        if [ "$kind" = redis ]; then
            if [ "$v" = '""' ]; then
                out=$("$cli" -h 127.0.0.1 -p "$lport" CONFIG SET "$k" "" 2>&1) || true
            else
                out=$("$cli" -h 127.0.0.1 -p "$lport" CONFIG SET "$k" "$v" 2>&1) || true
            fi
        else
            out=$("$cli" -h 127.0.0.1 -p "$lport" SENTINEL SET "$master" "$k" "$v" 2>&1) || true
        fi
        case "$out" in
            OK) echo "$kind: applied $k $v live" ;;
            *immutable*) echo "$k" >> "$work/restart" ;; # Redis says: only at start
            *)
                echo "apply-config: $kind on port $lport refused $k $v: $out" >&2
                exit 4 ;;
        esac
    done < "$work/live"
    if [ -s "$work/restart" ]; then
        restart_needed=yes
        echo "$kind: needs a restart for: $(sort -u "$work/restart" | tr '\n' ' ')(done by the rolling restart step)"
    fi
elif systemctl is-active --quiet "$unit" && { [ -s "$work/live" ] || [ -s "$work/restart" ]; }; then
    # Up but not answering (loading its data, say): nothing can be applied live,
    # so the rolling restart applies all of it.
    restart_needed=yes
    echo "$kind: running but not answering on port $lport; the rolling restart step applies the change"
fi

# Merge: the new rendered file, plus what the running service owns from the live file.
fill "$work/rendered" > "$work/full"
if [ "$kind" = redis ]; then
    awk 'NR == FNR { if ($1 == "replicaof" || $1 == "slaveof") keep = keep $0 "\n"; next }
         $1 == "replicaof" || $1 == "slaveof" { next }
         { print }
         END { printf "%s", keep }' "$target" "$work/full" > "$work/merged"
else
    awk -v master="$master" '
        NR == FNR {
            if ($1 == "sentinel" && $2 == "monitor" && $3 == master) { ip = $4; p = $5 }
            else if ($1 == "sentinel" && ($2 == "myid" || $2 == "current-epoch" || $2 == "config-epoch" ||
                     $2 == "leader-epoch" || $2 == "known-replica" || $2 == "known-slave" ||
                     $2 == "known-sentinel")) state = state $0 "\n"
            next
        }
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
if [ "$restart_needed" = yes ]; then mkdir -p "$pending" && touch "$pending/$unit"; fi
echo "$kind: updated $target"
