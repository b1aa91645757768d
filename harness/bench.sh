#!/usr/bin/env bash
# npm run bench: measures deploys, no-op ups, previews and the failover drills
# on fresh local test hosts, and prints min/median/max over runs and where the
# time of a deploy goes. A measurement script, not a test: it asserts nothing.
#   bash harness/bench.sh [--runs N] [--skip7]
# Leaves no hosts running.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh >&2
. harness/pulumi-env.sh
REDIS_TEST_VERSION=$(harness/build-redis.sh | tail -n1)
export REDIS_TEST_VERSION
harness/build-redis.sh --install-to binaries >/dev/null
# Where harness/testhosts.sh describes the hosts it boots (as `testhosts.sh env` says).
run_dir=${SENTINEL_TESTHOSTS_DIR:-/run/sentinel-testhosts}
export TESTHOSTS_JSON=$run_dir/hosts.json TESTHOSTS_KEY=$run_dir/id_ed25519
trap 'harness/testhosts.sh down >/dev/null 2>&1 || true' EXIT
node scripts/run-ts.js harness/bench.ts "$@"
