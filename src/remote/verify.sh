# verify: waits (bounded) until the cluster is what the stack asked for, then
# prints it as JSON; otherwise says what is wrong on which host and fails.
#
#   sh -c "$script" verify CLI MASTER_NAME REDIS_PORT SENTINEL_PORT TIMEOUT_S NAME=ADDRESS... < secrets
#
# Checks: every Sentinel names the same master; that master has role master
# with every other node connected as an online replica; every replica has
# master_link_status:up; every Sentinel sees (at least) every replica and every
# other Sentinel; SENTINEL CKQUORUM is OK.
set -eu
cli=$1 mname=$2 rport=$3 sport=$4 timeout=$5
shift 5
secrets=$(cat)
RPASS=$(printf '%s\n' "$secrets" | sed -n 's/^REDIS_PASSWORD=//p')
SPASS=$(printf '%s\n' "$secrets" | sed -n 's/^SENTINEL_PASSWORD=//p')
n=$#

r() { h=$1; shift; REDISCLI_AUTH=$RPASS "$cli" -h "$h" -p "$rport" "$@" 2>&1 | tr -d '\r'; }
s() { h=$1; shift; REDISCLI_AUTH=$SPASS "$cli" -h "$h" -p "$sport" "$@" 2>&1 | tr -d '\r'; }
field() { printf '%s\n' "$1" | sed -n "s/^$2://p" | head -n1; }
# value after KEY in redis-cli's one-item-per-line reply to SENTINEL MASTER
kv() { printf '%s\n' "$1" | awk -v k="$2" 'prev == k { print; exit } { prev = $0 }'; }

check() {
    problems=""
    master=""
    for node in "$@"; do
        name=${node%%=*} addr=${node#*=}
        got=$(s "$addr" SENTINEL get-master-addr-by-name "$mname" | tr '\n' ' ' | sed 's/ $//')
        case "$got" in
            *.*" $rport"|*:*" $rport") ;;
            *) problems="$problems\n$name: Sentinel does not name a master for $mname ($got)"; continue ;;
        esac
        if [ -z "$master" ]; then master=$got
        elif [ "$got" != "$master" ]; then problems="$problems\n$name: Sentinel names master $got, another names $master"; fi
    done
    [ -n "$master" ] || { problems="$problems\nno Sentinel names a master"; return 1; }
    maddr=${master% *}
    replicas=""
    for node in "$@"; do
        name=${node%%=*} addr=${node#*=}
        info=$(r "$addr" INFO replication)
        role=$(field "$info" role)
        if [ "$addr" = "$maddr" ]; then
            mname_host=$name
            [ "$role" = master ] || problems="$problems\n$name: Sentinels name it master but its role is ${role:-unreachable ($info)}"
            online=$(printf '%s\n' "$info" | grep -c '^slave[0-9]*:.*state=online' || true)
            [ "$online" -ge $((n - 1)) ] || problems="$problems\n$name: master has $online online replica(s), expected $((n - 1))"
        else
            link=$(field "$info" master_link_status)
            mhost=$(field "$info" master_host)
            if [ "$role" != slave ]; then problems="$problems\n$name: expected a replica, role is ${role:-unreachable ($info)}"
            elif [ "$mhost" != "$maddr" ]; then problems="$problems\n$name: replicates from $mhost, not $maddr"
            elif [ "$link" != up ]; then problems="$problems\n$name: master_link_status is $link"
            fi
            replicas="$replicas{\"name\":\"$name\",\"address\":\"$addr\",\"port\":$rport},"
        fi
    done
    for node in "$@"; do
        name=${node%%=*} addr=${node#*=}
        m=$(s "$addr" SENTINEL MASTER "$mname")
        slaves=$(kv "$m" num-slaves) others=$(kv "$m" num-other-sentinels) flags=$(kv "$m" flags)
        [ "$flags" = master ] || problems="$problems\n$name: Sentinel flags the master as ${flags:-unknown ($m)}"
        # "at least": a host being removed in this same up is forgotten only when
        # its own step is deleted, which the engine does after this check.
        [ "${slaves:-0}" -ge $((n - 1)) ] 2>/dev/null || problems="$problems\n$name: Sentinel sees ${slaves:-?} replica(s), expected $((n - 1))"
        [ "${others:-0}" -ge $((n - 1)) ] 2>/dev/null || problems="$problems\n$name: Sentinel sees ${others:-?} other Sentinel(s), expected $((n - 1))"
        q=$(s "$addr" SENTINEL CKQUORUM "$mname" | head -n1)
        case "$q" in OK*) quorum=$q ;; *) problems="$problems\n$name: SENTINEL CKQUORUM: $q" ;; esac
    done
    [ -z "$problems" ]
}

deadline=$(( $(date +%s) + timeout ))
until check "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        printf 'verify: the cluster is not healthy after %ss:%b\n' "$timeout" "$problems" >&2
        exit 1
    fi
    sleep 1
done
sentinels=""
for node in "$@"; do sentinels="$sentinels{\"name\":\"${node%%=*}\",\"address\":\"${node#*=}\",\"port\":$sport},"; done
printf '{"master":{"name":"%s","address":"%s","port":%s},"replicas":[%s],"sentinels":[%s],"ckquorum":"%s"}\n' \
    "$mname_host" "$maddr" "$rport" "${replicas%,}" "${sentinels%,}" "$quorum"
