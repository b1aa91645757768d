# apply-config: installs the rendered redis.conf or sentinel.conf on stdin
# (lib/apply-config.sh says how). Inputs: KIND, TARGET, PORT, SELF, PEERS.
apply_config
