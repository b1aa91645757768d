#!/usr/bin/env bash
# npm run bench: measures deploys, no-op ups, previews and the failover drills
# on fresh local test hosts, and prints min/median/max over runs and where the
# time of a deploy goes. A measurement script, not a test: it asserts nothing.
#   bash harness/bench.sh [--runs N] [--skip7] [--skip-docker | --docker-only]
# Leaves no hosts, containers or dockerd running.
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
trap 'harness/testhosts.sh down >/dev/null 2>&1 || true; harness/dockerd.sh down >/dev/null 2>&1 || true' EXIT
# The local Docker stack's daemon and base image (as scripts/test-e2e.sh makes them).
harness/testhosts.sh rootfs >/dev/null
harness/dockerd.sh up
eval "$(harness/dockerd.sh env)"
DOCKER_TEST_BASE_IMAGE=$(harness/dockerd.sh base-image)
export DOCKER_TEST_HOST DOCKER_TEST_BASE_IMAGE
node scripts/run-ts.js harness/bench.ts "$@"
