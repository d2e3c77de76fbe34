#!/usr/bin/env bash
# Installs the Debian 12 packages CloudJet needs to build (and, with --test, to run its
# integration tests and benchmarks). Idempotent: only missing packages are installed, and
# `apt-get update` runs at most once, only when something is missing. Never starts services.
#
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   build + test dependencies
#   scripts/install-deps.sh --deploy container engine for deploy-test / fresh-test (combinable)
#   scripts/install-deps.sh --print-packages [--test] [--deploy]
#                                    print the selected package names, one per line, and exit
#                                    (installs nothing; used by scripts/dep-audit.py)
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  librestinio-dev libasio-dev libhttp-parser-dev libfmt-dev nlohmann-json3-dev
  libsoci-dev libboost-dev libsqlite3-dev sqlite3 libmariadb-dev libhiredis-dev
  libjwt-dev libsodium-dev libssl-dev libcurl4-openssl-dev
  libspdlog-dev prometheus-cpp-dev libcli11-dev libgtest-dev libgmock-dev
  libhowardhinnant-date-dev tzdata
)
TEST_PKGS=(
  mariadb-server mariadb-client redis-server
  python3 python3-pytest python3-requests python3-pymysql
  wrk curl nginx python3-yaml prometheus
)
# Containers: the image build, the compose stack and the fresh-machine check (`make deploy-test`,
# `make fresh-test`). runc because crun fails on hybrid-cgroup kernels.
DEPLOY_PKGS=(
  podman runc podman-compose debootstrap uidmap slirp4netns fuse-overlayfs
  golang-github-containernetworking-plugin-dnsname
)

usage() { echo "usage: $0 [--print-packages] [--test] [--deploy]" >&2; exit 2; }

pkgs=("${BUILD_PKGS[@]}")
print_only=0
for arg in "$@"; do
  case "$arg" in
    --test) pkgs+=("${TEST_PKGS[@]}") ;;
    --deploy) pkgs+=("${DEPLOY_PKGS[@]}") ;;
    --print-packages) print_only=1 ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $arg" >&2; usage ;;
  esac
done

if [[ $print_only -eq 1 ]]; then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all dependencies present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root, no sudo available" >&2
    exit 1
  fi
fi

# Keep package maintainer scripts (mariadb-server, redis-server) from starting services: if no
# policy-rc.d is in place, install one that refuses every start for the duration of the install.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if [[ $created_policy -eq 1 ]]; then
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}
trap cleanup EXIT
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\n# temporary, created by cloudjet scripts/install-deps.sh\nexit 101\n' |
    "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 0755 "$POLICY"
  created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null

echo "install-deps: installed ${missing[*]}"
