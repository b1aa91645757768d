#!/usr/bin/env bash
# The main job on the local Docker stack, on this machine: starts the test run's
# private dockerd (harness/dockerd.sh; no system Docker runs here), imports the
# test hosts' Debian rootfs as the base image (no registry to pull from), then
# `pulumi up` of stack docker-demo with localDocker set: the image, network,
# volumes and three systemd containers, and the verified cluster on them.
# Everything keeps running afterwards; remove it with
#   pulumi destroy --stack docker-demo --yes && harness/dockerd.sh down
# On your own machine with Docker, follow README "Try it locally with Docker".
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
. harness/pulumi-env.sh
. scripts/lib/live-view.sh
version=$(harness/build-redis.sh | tail -n1)
harness/build-redis.sh --install-to binaries >/dev/null
harness/testhosts.sh rootfs >/dev/null
harness/dockerd.sh up
eval "$(harness/dockerd.sh env)"
base=$(harness/dockerd.sh base-image)

stack=docker-demo
if pulumi stack select "$stack" --non-interactive >/dev/null 2>&1; then
  # Start from nothing: the previous demo's containers go first.
  pulumi destroy --stack "$stack" --yes --non-interactive --color never >/dev/null
  pulumi stack rm "$stack" --yes --force --non-interactive >/dev/null
fi
rm -f "Pulumi.$stack.yaml"
pulumi stack init "$stack" --non-interactive >/dev/null
cfg() { pulumi config set --stack "$stack" --non-interactive "$@"; }
cfg --path localDocker.hosts --type int 3
cfg --path localDocker.subnet 198.18.4.0/24
cfg --path localDocker.baseImage "$base"
cfg --path localDocker.dockerHost "$DOCKER_TEST_HOST"
head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 | cfg --secret redisPassword
cfg redisVersion "$version"

start=$(date +%s)
pulumi up --stack "$stack" --yes --non-interactive --color never
echo
echo "containers made, cluster deployed and verified in $(( $(date +%s) - start )) s; stack outputs:"
pulumi stack output --stack "$stack" --json

echo
echo "live view from node1 (docker exec; what the Sentinels say now):"
pulumi config get --stack "$stack" redisPassword |
  docker -H "$DOCKER_TEST_HOST" exec -i "redis-sentinel-$stack-node1" sh -c "$(live_view_script "$version")"
echo
echo "Everything keeps running. Remove it with: pulumi destroy --stack $stack --yes && harness/dockerd.sh down"
