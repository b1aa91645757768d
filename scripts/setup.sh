#!/usr/bin/env bash
# Installs everything the demo and the tests need, on a fresh Debian 12 machine
# as root: Debian packages, npm packages, the Pulumi engine built from Go
# modules (harness/engine.sh), the Redis test binaries (harness/build-redis.sh:
# the newest 8.x built with TLS against libssl-dev, and the newest 7.x, plaintext,
# for the upgrade test) and the application
# clients the e2e clients test runs (harness/clients.sh: redis-py and Celery from
# PyPI in a venv, a go-redis program built from Go modules).
# Idempotent and cached: a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

need=()
for pkg in debootstrap systemd-container iproute2 openssh-client build-essential dpkg-dev pkg-config libssl-dev openssl util-linux docker.io python3 python3-venv; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
    log "installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    log "installing npm packages"
    # npm ci rejects this lock file: npm 11 leaves the other platforms' optional rollup
    # packages out of it. npm install with the committed lock installs the same versions.
    npm install --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
fi

harness/engine.sh >&2
harness/build-redis.sh >&2
# The older binaries the e2e upgrade test starts from.
REDIS_MAJOR=7 harness/build-redis.sh >&2
harness/clients.sh >&2
