# Sourced by the container scripts (deploy-test, fresh-test, base-image): picks the engine and,
# for podman on these build machines, the settings in deploy/podman/containers.conf.
#
#   CONTAINER_ENGINE=docker scripts/deploy-test.sh   # use Docker instead of podman
#
# With podman, CONTAINERS_CONF is set to the project's file unless the caller set one: runc and
# cgroupfs work both on ordinary machines and on the sandboxed CI machines (see that file).
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

if [[ -z "${CONTAINER_ENGINE:-}" ]]; then
  if command -v podman >/dev/null 2>&1; then
    CONTAINER_ENGINE=podman
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    CONTAINER_ENGINE=docker
  else
    echo "container-env: no container engine; run scripts/install-deps.sh --deploy" >&2
    exit 1
  fi
fi
export CONTAINER_ENGINE
if [[ "$CONTAINER_ENGINE" == podman ]]; then
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}
fi

engine() { "$CONTAINER_ENGINE" "$@"; }

image_exists() {
  if [[ "$CONTAINER_ENGINE" == podman ]]; then
    podman image exists "$1"
  else
    docker image inspect "$1" >/dev/null 2>&1
  fi
}
