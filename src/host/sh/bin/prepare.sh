# prepare: the service user and the directories Redis and the deployer need.
# Inputs: DATA_DIR, LOG_DIR, STAGE_DIR, SSH_USER. Idempotent; never touches existing data.
if ! getent group "$SERVICE_USER" >/dev/null; then groupadd --system "$SERVICE_USER"; fi
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --gid "$SERVICE_USER" --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
# Redis rewrites its config files with a temporary file beside them, so the
# config directory belongs to the service user too.
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0750 "$CONFIG_DIR" "$DATA_DIR" "$LOG_DIR"
install -d -o root -g root -m 0755 "$(dirname "$STAGE_DIR")"
install -d -o "$SSH_USER" -m 0700 "$STAGE_DIR"
echo "prepared: user $SERVICE_USER, $CONFIG_DIR, $DATA_DIR, $LOG_DIR"
