# install-binaries: checks the pushed binaries and installs them.
# Inputs: STAGED_SERVER, STAGED_CLI, SERVER_SHA256, CLI_SHA256, INSTALL_DIR,
# INSTALLED_SERVER, INSTALLED_CLI, INSTALLED_SENTINEL (where they go, in INSTALL_DIR), REDIS_VERSION.
# Nothing is installed unless both checksums match and redis-server reports
# REDIS_VERSION, so a wrong binary never reaches a unit.
check_sha() {
    got=$(sha256sum "$1" | cut -d' ' -f1)
    if [ "$got" != "$2" ]; then
        echo "install-binaries: $1 has sha256 $got, expected $2 (copy corrupted?)" >&2
        exit 2
    fi
}
check_sha "$STAGED_SERVER" "$SERVER_SHA256"
check_sha "$STAGED_CLI" "$CLI_SHA256"
chmod 0755 "$STAGED_SERVER" "$STAGED_CLI"
reported=$("$STAGED_SERVER" --version 2>&1 || true)
case "$reported" in
    *" v=$REDIS_VERSION "*) ;;
    *)
        echo "install-binaries: redis-server reports \"$reported\", but the stack expects version $REDIS_VERSION; set redisVersion or replace the binaries. Nothing was installed." >&2
        exit 2 ;;
esac
# Replacing the binary a running service was started from (a rebuild of the
# same version): the services restart one at a time in the rolling restart step.
if [ -f "$INSTALLED_SERVER" ] && ! cmp -s "$STAGED_SERVER" "$INSTALLED_SERVER"; then
    for unit in "$REDIS_UNIT" "$SENTINEL_UNIT"; do
        if systemctl is-active --quiet "$unit"; then
            mkdir -p "$PENDING_DIR" && touch "$PENDING_DIR/$unit"
            echo "$unit: restart pending for the new binary"
        fi
    done
fi
install -d -o root -g root -m 0755 "$INSTALL_DIR" "$(dirname "$INSTALLED_SERVER")" "$(dirname "$INSTALLED_CLI")"
install -o root -g root -m 0755 "$STAGED_SERVER" "$INSTALLED_SERVER"
install -o root -g root -m 0755 "$STAGED_CLI" "$INSTALLED_CLI"
# A relative link: redis-sentinel sits beside redis-server.
ln -sfn "$(basename "$INSTALLED_SERVER")" "$INSTALLED_SENTINEL"
echo "installed Redis $REDIS_VERSION in $INSTALL_DIR"
