#!/usr/bin/env bash
# End-to-end tier: boots three test hosts, runs the e2e tests with the real
# pulumi engine against them, and always takes the hosts down again.
# Expects scripts/setup.sh to have run (scripts/test-all.sh does that).
set -euo pipefail
cd "$(dirname "$0")/.."

. harness/pulumi-env.sh
REDIS_TEST_VERSION=$(harness/build-redis.sh | tail -n1)
export REDIS_TEST_VERSION
# The project deploys what is in binaries/: the test binaries built from Debian's source.
harness/build-redis.sh --install-to binaries >/dev/null
# The upgrade test starts from an older major (7.x, from Debian bookworm's source).
REDIS_UPGRADE_FROM_DIR=$(REDIS_MAJOR=7 harness/build-redis.sh --print-dir | tail -n1)
export REDIS_UPGRADE_FROM_DIR

# Both are always taken down; a daemon, mount or network the Docker tests left
# behind fails the run (harness/dockerd.sh down checks).
teardown() {
  local rc=$?
  harness/testhosts.sh down || rc=1
  harness/dockerd.sh down || rc=1
  exit "$rc"
}
trap teardown EXIT
start=$(date +%s)
harness/testhosts.sh up 4
echo "measured: test hosts booted in $(( $(date +%s) - start )) s" >&2
eval "$(harness/testhosts.sh env)"
export TESTHOSTS_JSON TESTHOSTS_KEY
# The Docker stack's tests: a private dockerd, and the hosts' rootfs imported as the
# base image its Dockerfile builds FROM (no image can be pulled here).
harness/dockerd.sh up
eval "$(harness/dockerd.sh env)"
harness/testhosts.sh rootfs >/dev/null
DOCKER_TEST_BASE_IMAGE=$(harness/dockerd.sh base-image)
export DOCKER_TEST_HOST DOCKER_TEST_BASE_IMAGE

mkdir -p .test-output
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile=.test-output/e2e.json "$@"
