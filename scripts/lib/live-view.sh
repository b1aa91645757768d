# Sourced by the demos. live_view_script VERSION prints a shell script that runs
# on a host: it reads the Redis password from stdin (never a command line) and
# prints what that host's Sentinel says now: master, quorum, replicas.
live_view_script() {
  local cli="/opt/redis-$1/bin/redis-cli"
  cat <<SCRIPT
read -r pw; export REDISCLI_AUTH="\$pw"; cli='$cli'
echo "master:   \$(\$cli -p 26379 SENTINEL get-master-addr-by-name mymaster | tr '\n' ' ')"
echo "quorum:   \$(\$cli -p 26379 SENTINEL ckquorum mymaster)"
echo "replicas: \$(\$cli -p 26379 SENTINEL replicas mymaster | awk 'p == "name" { printf "%s ", \$0 } { p = \$0 }')"
SCRIPT
}
