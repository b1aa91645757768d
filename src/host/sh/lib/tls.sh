# TLS clusters only (script.ts adds this after the other libs): a node may keep
# a plaintext port open beside its TLS one (tls.plaintextPort), and redis-cli
# (the TLS wrapper) speaks only TLS. So the port a unit listens on is its
# configured (TLS) port whenever it listens there; otherwise, as before, the one
# ss shows (a port change waiting for the rolling restart).
listening_port() { # unit default
    pid=$(systemctl show -p MainPID --value "$1" 2>/dev/null || echo 0)
    lp=
    if [ "${pid:-0}" -gt 0 ] 2>/dev/null; then
        lp=$(ss -Htlnp 2>/dev/null | awk -v pid="pid=$pid," -v want="$2" '
            index($0, pid) { n = split($4, a, ":"); if (a[n] == want) { found = want }; if (first == "") first = a[n] }
            END { print (found != "" ? found : first) }')
    fi
    echo "${lp:-$2}"
}
