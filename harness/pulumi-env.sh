# shellcheck shell=bash
# Source this file (`. harness/pulumi-env.sh`) to use the engine that
# harness/engine.sh built. It only sets variables; it builds nothing.
#
#   PATH                       the engine's bin dir first
#   PULUMI_HOME                the engine's home in the cache (plugins, credentials)
#   PULUMI_SKIP_UPDATE_CHECK=true
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
#   PULUMI_CONFIG_PASSPHRASE   "test-passphrase" unless it (or
#                              PULUMI_CONFIG_PASSPHRASE_FILE) is already set
#   PULUMI_BACKEND_URL         file://<repo>/.pulumi-state unless already set
#                              (that directory is created)
#
# Cache root: $SENTINEL_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi.

_sentinel_env() {
  local script_dir repo_root cache_root engine_dir line
  script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd) || return 1
  repo_root=$(cd -- "$script_dir/.." && pwd) || return 1   # this file lives in harness/

  # Read PULUMI_VERSION from versions.env without sourcing all of it into the
  # caller's shell.
  local PULUMI_VERSION=
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      PULUMI_VERSION=*) PULUMI_VERSION=${line#PULUMI_VERSION=} ;;
    esac
  done <"$script_dir/versions.env"
  if [ -z "$PULUMI_VERSION" ]; then
    echo "pulumi-env: PULUMI_VERSION missing in $script_dir/versions.env" >&2
    return 1
  fi

  cache_root=${SENTINEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-sentinel-pulumi}
  engine_dir=$cache_root/engine/$PULUMI_VERSION

  case ":$PATH:" in
    *":$engine_dir/bin:"*) ;;
    *) PATH=$engine_dir/bin:$PATH ;;
  esac
  export PATH
  export PULUMI_HOME=$engine_dir/home
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE=test-passphrase
  fi
  if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p "$repo_root/.pulumi-state" || return 1
    export PULUMI_BACKEND_URL=file://$repo_root/.pulumi-state
  fi

  if [ ! -x "$engine_dir/bin/pulumi" ]; then
    echo "pulumi-env: no engine in $engine_dir/bin yet; run harness/engine.sh" >&2
  fi
}

_sentinel_env
unset -f _sentinel_env
