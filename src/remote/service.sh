# service: enables and starts a unit, then waits until it answers PING.
#
#   sh -c "$script" service UNIT CLI PORT PASSWORD_KEY SECRETS PENDING_DIR
#
# A running unit with a restart pending is left alone: the rolling restart
# step restarts it (and it may not answer on a new port before that).
set -eu
unit=$1 cli=$2 port=$3 key=$4 secrets=$5 pending=$6
if [ -f "$pending/$unit" ] && systemctl is-active --quiet "$unit"; then
    echo "$unit: running; restart pending for the rolling restart step"
    exit 0
fi
REDISCLI_AUTH=$(sed -n "s/^$key=//p" "$secrets")
export REDISCLI_AUTH
systemctl enable --now "$unit"
i=0
until "$cli" -h 127.0.0.1 -p "$port" PING 2>/dev/null | grep -q PONG; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
        echo "service: $unit did not answer PING on port $port within 30 s" >&2
        systemctl status --no-pager "$unit" >&2 || true
        exit 1
    fi
    sleep 0.5
done
echo "$unit: running"
