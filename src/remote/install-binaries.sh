# install-binaries: checks the pushed binaries and installs them.
#
#   sh -c "$script" install-binaries STAGED_SERVER STAGED_CLI SHA_SERVER SHA_CLI INSTALL_DIR VERSION PENDING_DIR
#
# Nothing is installed unless both checksums match and redis-server reports
# VERSION, so a wrong binary never reaches a unit.
set -eu
server=$1 cli=$2 sha_server=$3 sha_cli=$4 dir=$5 version=$6 pending=$7
check_sha() {
    got=$(sha256sum "$1" | cut -d' ' -f1)
    if [ "$got" != "$2" ]; then
        echo "install-binaries: $1 has sha256 $got, expected $2 (copy corrupted?)" >&2
        exit 2
    fi
}
check_sha "$server" "$sha_server"
check_sha "$cli" "$sha_cli"
chmod 0755 "$server" "$cli"
reported=$("$server" --version 2>&1 || true)
case "$reported" in
    *" v=$version "*) ;;
    *)
        echo "install-binaries: redis-server reports \"$reported\", but the stack expects version $version; set redisVersion or replace the binaries. Nothing was installed." >&2
        exit 2 ;;
esac
# Replacing the binary a running service was started from (a rebuild of the
# same version): the services restart one at a time in the rolling restart step.
if [ -f "$dir/bin/redis-server" ] && ! cmp -s "$server" "$dir/bin/redis-server"; then
    for unit in redis-server redis-sentinel; do
        if systemctl is-active --quiet "$unit"; then
            mkdir -p "$pending" && touch "$pending/$unit"
            echo "$unit: restart pending for the new binary"
        fi
    done
fi
install -d -o root -g root -m 0755 "$dir" "$dir/bin"
install -o root -g root -m 0755 "$server" "$dir/bin/redis-server"
install -o root -g root -m 0755 "$cli" "$dir/bin/redis-cli"
ln -sfn redis-server "$dir/bin/redis-sentinel"
echo "installed Redis $version in $dir"
