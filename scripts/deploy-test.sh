#!/usr/bin/env bash
# `make deploy-test`: builds the CloudJet image from this tree, runs the compose stack
# (deploy/compose.yaml: MariaDB, Redis, migrate, five services) with a container engine, passes
# the smoke journey through the containers, checks their logs, tears it all down.
#
#   scripts/deploy-test.sh                         # podman (installed by install-deps.sh --deploy)
#   CONTAINER_ENGINE=docker COMPOSE="docker compose" scripts/deploy-test.sh
#
# Without a registry (CI), the Debian base image and stand-ins for the official MariaDB/Redis
# images are built from Debian's packages (scripts/base-image.sh, deploy/test-images/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/container-env.sh

t0=$SECONDS
scripts/base-image.sh

build() { engine build --network host ${FORMAT_ARGS[@]+"${FORMAT_ARGS[@]}"} "$@"; }
FORMAT_ARGS=()
# podman writes OCI images by default, which drop HEALTHCHECK.
[[ "$CONTAINER_ENGINE" == podman ]] && FORMAT_ARGS=(--format docker)

IMAGE=${CLOUDJET_IMAGE:-localhost/cloudjet:latest}
echo "deploy-test: building $IMAGE"
tb=$SECONDS
build -q -f deploy/Dockerfile -t "$IMAGE" . >/dev/null
size=$(engine image inspect -f '{{.Size}}' "$IMAGE")
echo "deploy-test: image $IMAGE built in $((SECONDS - tb))s, $((size / 1024 / 1024)) MiB"

# The image checks itself: runs as non-root, has a HEALTHCHECK, links nothing missing.
user=$(engine image inspect -f '{{.Config.User}}' "$IMAGE")
[[ "$user" == 10001:10001 ]] || { echo "deploy-test: image runs as '$user', not 10001" >&2; exit 1; }
hc=$(engine image inspect -f '{{.Config.Healthcheck}}' "$IMAGE")
[[ "$hc" == *ready* ]] || { echo "deploy-test: image has no HEALTHCHECK ($hc)" >&2; exit 1; }
engine run --rm --entrypoint /bin/sh "$IMAGE" -c '! ldd /usr/local/bin/cloudjet | grep "not found"' >/dev/null

# Official images when present (a machine with a registry), Debian-built stand-ins otherwise.
if [[ -z "${CLOUDJET_MARIADB_IMAGE:-}" ]] && ! image_exists docker.io/library/mariadb:10.11 &&
   ! timeout 60 "$CONTAINER_ENGINE" pull -q docker.io/library/mariadb:10.11 >/dev/null 2>&1; then
  build -q -t localhost/cloudjet-test-mariadb:10.11 deploy/test-images/mariadb >/dev/null
  export CLOUDJET_MARIADB_IMAGE=localhost/cloudjet-test-mariadb:10.11
fi
if [[ -z "${CLOUDJET_REDIS_IMAGE:-}" ]] && ! image_exists docker.io/library/redis:7 &&
   ! timeout 60 "$CONTAINER_ENGINE" pull -q docker.io/library/redis:7 >/dev/null 2>&1; then
  build -q -t localhost/cloudjet-test-redis:7 deploy/test-images/redis >/dev/null
  export CLOUDJET_REDIS_IMAGE=localhost/cloudjet-test-redis:7
fi

if [[ -z "${CLOUDJET_NGINX_IMAGE:-}" ]] && ! image_exists docker.io/library/nginx:1.27 &&
   ! timeout 60 "$CONTAINER_ENGINE" pull -q docker.io/library/nginx:1.27 >/dev/null 2>&1; then
  build -q -t localhost/cloudjet-test-nginx:1 deploy/test-images/nginx >/dev/null
  export CLOUDJET_NGINX_IMAGE=localhost/cloudjet-test-nginx:1
fi

export CLOUDJET_IMAGE=$IMAGE
default_compose=podman-compose
[[ "$CONTAINER_ENGINE" == docker ]] && default_compose="docker compose"
/usr/bin/python3 tests/deploy/compose_stack.py --compose "${COMPOSE:-$default_compose}" \
  --engine "$CONTAINER_ENGINE"
echo "deploy-test: passed in $((SECONDS - t0))s (image $((size / 1024 / 1024)) MiB)"
