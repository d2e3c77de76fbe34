#!/usr/bin/env bash
# The fresh-machine check: a clean clone of this repository inside a pristine Debian 12 container
# (nothing installed but what a newcomer needs to clone and type make: git, make), then the
# README's two commands exactly as written.
#
#   scripts/fresh-test.sh              # `make run` until five services answer health, then `make test`
#   scripts/fresh-test.sh --run-only   # `make run` + the dependency audit only (quicker)
#   scripts/fresh-test.sh --worktree   # test the working tree (tracked + untracked files) instead of HEAD
#
# This is what CI's own machine cannot show: it keeps every package ever installed by hand, so a
# missing install step only fails here. Prints the time to healthy and the time of `make test`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/container-env.sh

mode=full
source_kind=head
for arg in "$@"; do
  case "$arg" in
    --run-only) mode=run ;;
    --worktree) source_kind=worktree ;;
    *) echo "usage: $0 [--run-only] [--worktree]" >&2; exit 2 ;;
  esac
done

scripts/base-image.sh
work=$(mktemp -d /tmp/cloudjet-fresh.XXXXXX)
name=cloudjet-fresh-$$
cleanup() {
  engine rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ $source_kind == head ]]; then
  if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
    echo "fresh-test: note: uncommitted changes are not tested (use --worktree)"
  fi
  git clone -q --no-hardlinks "$ROOT" "$work/cloudjet"
else
  mkdir -p "$work/cloudjet"
  git ls-files -z --cached --others --exclude-standard | grep -zv '^$' |
    while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done |
    tar -C "$ROOT" --null -T - -c | tar -C "$work/cloudjet" -x
  git -C "$work/cloudjet" init -q && git -C "$work/cloudjet" add -A &&
    git -C "$work/cloudjet" -c user.name=fresh -c user.email=fresh@localhost commit -qm snapshot
fi

# Free ports on this host for the five services (the container shares the host network so apt
# reaches the mirror; the ports keep it clear of anything else running here).
ports=$(/usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
read -r p_auth p_flight p_booking p_admin p_payment <<<"$ports"

engine run -d --name "$name" --network host -v "$work:/fresh" -w /fresh/cloudjet \
  -e AUTH_SERVICE_PORT="$p_auth" -e FLIGHT_SERVICE_PORT="$p_flight" \
  -e BOOKING_SERVICE_PORT="$p_booking" -e ADMIN_SERVICE_PORT="$p_admin" \
  -e PAYMENT_SERVICE_PORT="$p_payment" -e BIND_ADDRESS=127.0.0.1 \
  -e NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  docker.io/library/debian:12 sleep infinity >/dev/null
in_box() { engine exec "$name" bash -c "$1"; }
# Whether make run is still alive. PID 1 of the container (sleep) reaps nothing, so an exited
# make stays a zombie: read its state instead of kill -0.
MAKE_ALIVE='s=$(cut -d" " -f3 "/proc/$(cat /fresh/make-run.pid)/stat" 2>/dev/null); [[ -n "$s" && "$s" != Z ]]'


echo "fresh-test: prerequisites of the README (git, make) into a pristine Debian 12"
in_box 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git make ca-certificates >/dev/null'
# The network's own trust (e.g. the CA of a TLS-inspecting egress proxy, installed on this host in
# /usr/local/share/ca-certificates) belongs to the site, not to the project: a fresh machine on
# this network is given the same, or npm cannot reach its registry. Node reads it through
# NODE_EXTRA_CA_CERTS (set above), since Node keeps its own root list.
site_cas=(/usr/local/share/ca-certificates/*.crt)
if [[ -e "${site_cas[0]}" ]]; then
  mkdir -p "$work/site-ca" && cp "${site_cas[@]}" "$work/site-ca/"
  in_box 'cp /fresh/site-ca/*.crt /usr/local/share/ca-certificates/ && update-ca-certificates >/dev/null 2>&1'
fi
in_box 'test ! -e /usr/include/boost && ! command -v cmake >/dev/null' ||
  { echo "fresh-test: the base image is not pristine" >&2; exit 1; }

echo "fresh-test: make run"
t0=$SECONDS
# setsid: make becomes a process group leader, so the whole group can be stopped at the end.
in_box 'setsid nohup make run > /fresh/make-run.log 2>&1 < /dev/null & echo $! > /fresh/make-run.pid'
healthy=0
while (( SECONDS - t0 < 1500 )); do
  ok=0
  for pair in auth:$p_auth flights:$p_flight bookings:$p_booking admin:$p_admin payments:$p_payment; do
    curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:${pair#*:}/api/${pair%%:*}/health" && ok=$((ok + 1))
  done
  if (( ok == 5 )); then healthy=1; break; fi
  if ! in_box "$MAKE_ALIVE"; then break; fi
  sleep 3
done
run_seconds=$((SECONDS - t0))
if (( healthy == 0 )); then
  echo "fresh-test: make run did not reach five healthy services (${run_seconds}s):" >&2
  tail -40 "$work/make-run.log" >&2
  exit 1
fi
echo "fresh-test: make run: five services healthy ${run_seconds}s after the command"
# SIGINT to the group: the server drains and exits 0, then make exits.
in_box "kill -INT -- -\$(cat /fresh/make-run.pid); for _ in \$(seq 1 60); do $MAKE_ALIVE || exit 0; sleep 0.5; done; echo 'make run did not stop' >&2; exit 1"
grep -q '"msg":"stopped"' "$work/make-run.log" ||
  { echo "fresh-test: the server did not log a clean stop:" >&2; tail -20 "$work/make-run.log" >&2; exit 1; }
in_box 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null && make dep-audit'

if [[ $mode == full ]]; then
  echo "fresh-test: make test"
  t1=$SECONDS
  if ! in_box 'make test > /fresh/make-test.log 2>&1'; then
    echo "fresh-test: make test failed after $((SECONDS - t1))s:" >&2
    tail -60 "$work/make-test.log" >&2
    exit 1
  fi
  grep -E '^[0-9]+ passed|passed,|tests passed' "$work/make-test.log" | sed 's/^/fresh-test:   /' || true
  echo "fresh-test: make test passed in $((SECONDS - t1))s"
fi
echo "fresh-test: passed (make run to healthy ${run_seconds}s)"
