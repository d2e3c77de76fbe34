#!/usr/bin/env bash
# Installs the Debian 12 packages CloudJet needs to build (and, with --test, to run its
# integration tests and benchmarks, plus the npm tooling pinned in package-lock.json: the
# OpenAPI linter). Idempotent: only missing packages are installed, and
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
  libspdlog-dev prometheus-cpp-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libhowardhinnant-date-dev tzdata
  python3 python3-yaml
)
TEST_PKGS=(
  mariadb-server mariadb-client redis-server
  python3 python3-pytest python3-requests python3-pymysql
  wrk curl nginx python3-yaml python3-jsonschema prometheus
  nodejs npm
  linux-perf
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

# newman (the Postman collection in `make test`): --test also runs `npm ci --prefix tests/newman`
# (pinned in tests/newman/package-lock.json; newman 6 runs on Debian 12's Node 18). nodejs and
# npm are TEST_PKGS (a NodeSource nodejs that provides npm counts as present, see below).
newman_tools=0
if [[ " $* " == *" --test "* ]]; then newman_tools=1; fi
install_newman() {
  [[ $newman_tools -eq 1 ]] || return 0
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/newman"
  if [[ -x "$dir/node_modules/.bin/newman" ]] &&
     cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"; then
    return 0
  fi
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
  cp "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"
  echo "install-deps: installed newman (npm ci --prefix tests/newman)"
}

if [[ $print_only -eq 1 ]]; then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi

# Names that installed packages provide count as present: a machine whose nodejs comes from
# another repository (which Provides and Conflicts npm) must not have apt swap it for Debian's.
provided=" $(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
  awk -F'|' '$1 ~ /^ii/ && $2 != "" { gsub(/ *\([^)]*\)/, "", $2); gsub(/, */, " ", $2); print $2 }' |
  tr '\n' ' ') "
missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" && "$provided" != *" $p "* ]]; then
    missing+=("$p")
  fi
done

# The npm tooling (with --test): exactly the versions of package-lock.json, into ./node_modules.
# Only after the apt packages, since npm is one of them.
install_npm_tools() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  # npm writes node_modules/.package-lock.json on every install: newer than the lock = current.
  if [[ "$root/node_modules/.package-lock.json" -nt "$root/package-lock.json" ]]; then
    return 0  # installed after the lock file last changed
  fi
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "install-deps: npm ci (package-lock.json) done"
}
with_npm=0
for arg in "$@"; do [[ "$arg" == --test ]] && with_npm=1; done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all dependencies present"
  if [[ $with_npm -eq 1 ]]; then install_npm_tools; fi
  install_newman
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
if [[ $with_npm -eq 1 ]]; then install_npm_tools; fi
install_newman
