#!/usr/bin/env bash
# Makes sure the Debian 12 base images the Dockerfiles start FROM exist locally:
# docker.io/library/debian:12 and debian:12-slim.
#
#   scripts/base-image.sh            # pull them, or build them with debootstrap if no registry answers
#   BASE_IMAGE_SOURCE=debootstrap scripts/base-image.sh   # never try a registry
#
# Machines without a container registry (like this project's CI) still reach Debian's package
# mirror, so the image is built the way Debian's official one is: debootstrap --variant=minbase
# bookworm, from the mirror this machine's apt uses, then imported. apt inside the image uses
# the same sources as the host, so containers install the same package versions.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/container-env.sh"

IMAGES=(docker.io/library/debian:12 docker.io/library/debian:12-slim)
missing=()
for img in "${IMAGES[@]}"; do image_exists "$img" || missing+=("$img"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "base-image: ${IMAGES[*]} present"
  exit 0
fi

if [[ "${BASE_IMAGE_SOURCE:-auto}" != debootstrap ]]; then
  pulled=1
  for img in "${missing[@]}"; do
    timeout 60 "$CONTAINER_ENGINE" pull -q "$img" >/dev/null 2>&1 || { pulled=0; break; }
  done
  if [[ $pulled -eq 1 ]]; then echo "base-image: pulled ${missing[*]}"; exit 0; fi
  echo "base-image: no registry answered; building from Debian's mirror with debootstrap"
fi

command -v debootstrap >/dev/null || { echo "base-image: needs debootstrap (scripts/install-deps.sh --deploy)" >&2; exit 1; }

# The mirror apt uses on this machine (deb822 sources first, then the classic list).
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [[ -z "$mirror" ]]; then
  mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /tmp/cloudjet-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
rootfs=$work/rootfs
if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
  cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -f "$rootfs/etc/apt/sources.list"
fi
# What Debian's slim images leave out: package lists, downloaded debs, docs, man pages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
tar -C "$rootfs" -c . | "$CONTAINER_ENGINE" import -q - docker.io/library/debian:12 >/dev/null
"$CONTAINER_ENGINE" tag docker.io/library/debian:12 docker.io/library/debian:12-slim
echo "base-image: built ${IMAGES[*]} from $mirror"
