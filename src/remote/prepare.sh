# prepare: the service user and the directories Redis and the deployer need.
#
#   sh -c "$script" prepare SERVICE_USER CONFIG_DIR DATA_DIR LOG_DIR STAGE_DIR SSH_USER
#
# Idempotent; never touches existing data.
set -eu
user=$1 config=$2 data=$3 log=$4 stage=$5 sshuser=$6
if ! getent group "$user" >/dev/null; then groupadd --system "$user"; fi
if ! id -u "$user" >/dev/null 2>&1; then
    useradd --system --gid "$user" --home-dir "$data" --no-create-home --shell /usr/sbin/nologin "$user"
fi
# Redis rewrites its config files with a temporary file beside them, so the
# config directory belongs to the service user too.
install -d -o "$user" -g "$user" -m 0750 "$config" "$data" "$log"
install -d -o root -g root -m 0755 "$(dirname "$stage")"
install -d -o "$sshuser" -m 0700 "$stage"
echo "prepared: user $user, $config, $data, $log"
