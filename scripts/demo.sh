#!/usr/bin/env bash
# The main job on local test hosts: boots three clean VM-like hosts, builds or
# reuses the Redis test binaries, deploys the cluster with real `pulumi up` on
# a local stack, and prints the verified cluster. The hosts keep running
# afterwards so you can look around; `harness/testhosts.sh down` removes them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
. harness/pulumi-env.sh
. scripts/lib/live-view.sh
version=$(harness/build-redis.sh | tail -n1)
harness/build-redis.sh --install-to binaries >/dev/null

stack=local
# Clean hosts every time, so the stack starts from nothing too.
pulumi stack rm "$stack" --yes --force --non-interactive >/dev/null 2>&1 || true
rm -f "Pulumi.$stack.yaml"
harness/testhosts.sh up 3
eval "$(harness/testhosts.sh env)"

pulumi stack init "$stack" --non-interactive >/dev/null
cfg() { pulumi config set --stack "$stack" --non-interactive "$@"; }
# hosts[i].name/address/hostKey/role from the test hosts' description, one --path each.
mapfile -t leaves < <(node -e '
const t = require(process.argv[1]);
t.hosts.slice(0, 3).forEach((h, i) => {
    for (const [k, v] of Object.entries({ name: h.name, address: h.address, hostKey: h.hostKey, role: i === 0 ? "master" : "replica" })) {
        console.log(`hosts[${i}].${k}`); console.log(v);
    }
});' "$TESTHOSTS_JSON")
for ((i = 0; i < ${#leaves[@]}; i += 2)); do cfg --path "${leaves[i]}" -- "${leaves[i+1]}"; done
cfg --secret sshPrivateKey < "$TESTHOSTS_KEY"
# A fresh random password for this demo stack, straight from the kernel into the secret.
head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 | cfg --secret redisPassword
cfg redisVersion "$version"

start=$(date +%s)
pulumi up --stack "$stack" --yes --non-interactive --color never
echo
echo "deployed and verified in $(( $(date +%s) - start )) s; stack outputs:"
pulumi stack output --stack "$stack" --json

echo
echo "live view from host1 (what the Sentinels say now):"
pulumi config get --stack "$stack" redisPassword | harness/testhosts.sh ssh 1 "$(live_view_script "$version")"
echo
echo "The hosts keep running. Remove everything with: harness/testhosts.sh down"
