# The port a unit's process listens on now: it differs from the configured one
# while a port change waits for the rolling restart. DEFAULT when that cannot
# be told (the unit is not running, or ss shows nothing for it).
listening_port() { # unit default
    pid=$(systemctl show -p MainPID --value "$1" 2>/dev/null || echo 0)
    lp=
    if [ "${pid:-0}" -gt 0 ] 2>/dev/null; then
        lp=$(ss -Htlnp 2>/dev/null | awk -v pid="pid=$pid," 'index($0, pid) { n = split($4, a, ":"); print a[n]; exit }')
    fi
    echo "${lp:-$2}"
}
