# verify: waits (VERIFY_TIMEOUT seconds at most) until the cluster is what the
# stack asked for, then prints it as JSON; otherwise says what is wrong on which
# host and fails. Inputs: NODES ("name=address ...", every host). The secrets
# come on stdin (NAME=value lines).
#
# Checks: every Sentinel names the same master; that master has role master
# with every other node connected as an online replica; every replica has
# master_link_status:up; every Sentinel sees (at least) every replica and every
# other Sentinel, and its links to them are up (a first install writes the
# cluster's Sentinels and replicas into each sentinel.conf, so knowing them
# proves nothing; reaching them does); SENTINEL CKQUORUM is OK. Then the users: each of USER_LOGINS
# ("data|sentinel USER SECRET" lines) logs in on every node with its current
# password; each of DRY_RUNS ("USER allow|deny COMMAND..." lines) is allowed or
# denied by ACL DRYRUN on every data node; and no node's ACL LOG holds a
# denial of the cluster's own users (INTERNAL_DATA_USERS on the data nodes,
# INTERNAL_SENTINEL_USERS on the Sentinels) from the last ACL_LOG_WINDOW s.
load_secrets -
started=$(date +%s) started_ms=$(now_ms)
set -- $NODES
n=$#
# "ip:port" of every Sentinel and every data node of the cluster, space-framed.
cluster_sentinels=" " cluster_data=" "
for node in "$@"; do cluster_sentinels="$cluster_sentinels${node#*=}:$SENTINEL_PORT " cluster_data="$cluster_data${node#*=}:$REDIS_PORT "; done

check() {
    problems=""
    master=""
    for node in "$@"; do
        name=${node%%=*} addr=${node#*=}
        got=$(rcli sentinel "$addr" "$SENTINEL_PORT" SENTINEL get-master-addr-by-name "$MASTER_NAME" | tr '\n' ' ' | sed 's/ $//')
        case "$got" in
            *.*" $REDIS_PORT"|*:*" $REDIS_PORT") ;;
            *) problems="$problems\n$name: Sentinel does not name a master for $MASTER_NAME ($got)"; continue ;;
        esac
        if [ -z "$master" ]; then master=$got
        elif [ "$got" != "$master" ]; then problems="$problems\n$name: Sentinel names master $got, another names $master"; fi
    done
    [ -n "$master" ] || { problems="$problems\nno Sentinel names a master"; return 1; }
    maddr=${master% *}
    replicas=""
    for node in "$@"; do
        name=${node%%=*} addr=${node#*=}
        info=$(rcli data "$addr" "$REDIS_PORT" INFO replication)
        role=$(info_field "$info" role)
        if [ "$addr" = "$maddr" ]; then
            master_host=$name
            [ "$role" = master ] || problems="$problems\n$name: Sentinels name it master but its role is ${role:-unreachable ($info)}"
            online=$(printf '%s\n' "$info" | grep -c '^slave[0-9]*:.*state=online' || true)
            [ "$online" -ge $((n - 1)) ] || problems="$problems\n$name: master has $online online replica(s), expected $((n - 1))"
        else
            link=$(info_field "$info" master_link_status)
            mhost=$(info_field "$info" master_host)
            if [ "$role" != slave ]; then problems="$problems\n$name: expected a replica, role is ${role:-unreachable ($info)}"
            elif [ "$mhost" != "$maddr" ]; then problems="$problems\n$name: replicates from $mhost, not $maddr"
            elif [ "$link" != up ]; then problems="$problems\n$name: master_link_status is $link"
            fi
            replicas="$replicas{\"name\":\"$name\",\"address\":\"$addr\",\"port\":$REDIS_PORT},"
        fi
    done
    for node in "$@"; do
        name=${node%%=*} addr=${node#*=}
        m=$(rcli sentinel "$addr" "$SENTINEL_PORT" SENTINEL MASTER "$MASTER_NAME")
        slaves=$(printf '%s\n' "$m" | reply_value num-slaves)
        others=$(printf '%s\n' "$m" | reply_value num-other-sentinels)
        flags=$(printf '%s\n' "$m" | reply_value flags)
        [ "$flags" = master ] || problems="$problems\n$name: Sentinel flags the master as ${flags:-unknown ($m)}"
        # "at least": a host being removed in this same up is forgotten only when
        # its own step is deleted, which the engine does after this check.
        [ "${slaves:-0}" -ge $((n - 1)) ] 2>/dev/null || problems="$problems\n$name: Sentinel sees ${slaves:-?} replica(s), expected $((n - 1))"
        [ "${others:-0}" -ge $((n - 1)) ] 2>/dev/null || problems="$problems\n$name: Sentinel sees ${others:-?} other Sentinel(s), expected $((n - 1))"
        # Its links to the cluster's other Sentinels and replicas (entries of nodes the
        # cluster no longer has are the clean-up's, not a failure).
        for e in $( { known_entries "$addr:$SENTINEL_PORT" SENTINELS | awk -v c="$cluster_sentinels" 'index(c, " " $1 " ")'
                      known_entries "$addr:$SENTINEL_PORT" REPLICAS | awk -v c="$cluster_data" 'index(c, " " $1 " ")'; } |
                   awk '$2 ~ /s_down|disconnected/ { print $1 }'); do
            problems="$problems\n$name: Sentinel has no working link to $e"
        done
        q=$(rcli sentinel "$addr" "$SENTINEL_PORT" SENTINEL CKQUORUM "$MASTER_NAME" | head -n1)
        case "$q" in OK*) quorum=$q ;; *) problems="$problems\n$name: SENTINEL CKQUORUM: $q" ;; esac
    done
    [ -z "$problems" ]
}

end=$(deadline_in "$VERIFY_TIMEOUT")
until check "$@"; do
    if past "$end"; then
        printf 'verify: the cluster is not healthy after %ss:%b\n' "$VERIFY_TIMEOUT" "$problems" >&2
        exit 1
    fi
    sleep "$VERIFY_POLL_SECONDS"
done
settled_ms=$(now_ms)

# Denials of these users in a node's ACL LOG younger than MAX_AGE seconds:
# "user reason object" lines (age-seconds: Redis 7.0 has no timestamps yet).
acl_denials() { # data|sentinel addr port users max-age
    rcli "$1" "$2" "$3" ACL LOG 128 | awk -v users=" $4 " -v max_age="$5" '
        function flush() { if (user != "" && index(users, " " user " ") && age <= max_age) print user " " reason " " object; user = ""; age = 0 }
        key == "" { key = $0; next }
        {
            if (key == "count") flush()
            if (key == "username") user = $0; else if (key == "reason") reason = $0
            else if (key == "object") object = $0; else if (key == "age-seconds") age = $0 + 0
            key = ""
        }
        END { flush() }'
}
acl_problems=""
for node in "$@"; do
    name=${node%%=*} addr=${node#*=}
    while read -r kind user secret; do
        [ -n "$kind" ] || continue
        if [ "$kind" = data ]; then port=$REDIS_PORT; else port=$SENTINEL_PORT; fi
        got=$(rcli_as "$user" "$secret" "$addr" "$port" PING </dev/null)
        case "$got" in
            *PONG* | *NOPERM*) ;;
            *) acl_problems="$acl_problems\n$name: user $user cannot log in to the $kind node with its current password: $(printf '%s' "$got" | tr '\n' ' ')" ;;
        esac
    done <<EOF_LOGINS
$USER_LOGINS
EOF_LOGINS
    # Every dry run of the node in one redis-cli session (its commands on stdin, one
    # reply line each), not one process per question.
    replies=$(printf '%s\n' "$DRY_RUNS" | awk 'NF >= 3 { u = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); print "ACL DRYRUN " u " " $0 }' |
        rcli data "$addr" "$REDIS_PORT")
    i=0
    while read -r user verdict cmd; do
        [ -n "$user" ] || continue
        i=$((i + 1))
        got=$(printf '%s\n' "$replies" | sed -n "${i}p")
        case "$verdict:$got" in
            allow:OK | deny:*"no permissions"*) ;;
            allow:*) acl_problems="$acl_problems\n$name: user $user may not run $cmd, which its job needs: $got" ;;
            deny:*) acl_problems="$acl_problems\n$name: user $user may run $cmd, which it must not ($got)" ;;
        esac
    done <<EOF_DRY
$DRY_RUNS
EOF_DRY
    max_age=$((ACL_LOG_WINDOW + $(date +%s) - started))
    for d in $(acl_denials data "$addr" "$REDIS_PORT" "$INTERNAL_DATA_USERS" "$max_age" | tr ' ' '/'); do
        acl_problems="$acl_problems\n$name: the data node's ACL LOG denied the cluster's own $(printf '%s' "$d" | awk -F/ '{ print "user " $1 " (" $2 " " $3 ")" }')"
    done
    for d in $(acl_denials sentinel "$addr" "$SENTINEL_PORT" "$INTERNAL_SENTINEL_USERS" "$max_age" | tr ' ' '/'); do
        acl_problems="$acl_problems\n$name: the Sentinel's ACL LOG denied the cluster's own $(printf '%s' "$d" | awk -F/ '{ print "user " $1 " (" $2 " " $3 ")" }')"
    done
done
if [ -n "$acl_problems" ]; then
    printf 'verify: the cluster runs, but its users are not as they must be:%b\n' "$acl_problems" >&2
    exit 1
fi

echo "verify: the cluster was as asked after $((settled_ms - started_ms)) ms; users checked in $(($(now_ms) - settled_ms)) ms"
sentinels=""
for node in "$@"; do sentinels="$sentinels{\"name\":\"${node%%=*}\",\"address\":\"${node#*=}\",\"port\":$SENTINEL_PORT},"; done
printf '{"master":{"name":"%s","address":"%s","port":%s},"replicas":[%s],"sentinels":[%s],"ckquorum":"%s"}\n' \
    "$master_host" "$maddr" "$REDIS_PORT" "${replicas%,}" "${sentinels%,}" "$quorum"
