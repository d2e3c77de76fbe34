#!/usr/bin/env bash
# Runs a private, non-persistent Redis for tests and local development, in the foreground.
#
#   scripts/start-redis.sh DIR PORT
#
# Listens on 127.0.0.1:PORT only, working directory DIR, no RDB snapshots and no AOF. The shell
# is replaced by redis-server (`exec`), so the caller owns the process (SIGTERM stops it).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DIR PORT" >&2
  exit 2
fi
if ! [[ "$2" =~ ^[0-9]+$ ]] || (( $2 < 1 || $2 > 65535 )); then
  echo "start-redis: invalid port: $2" >&2
  exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)

exec redis-server \
  --bind 127.0.0.1 \
  --port "$2" \
  --dir "$DIR" \
  --save "" \
  --appendonly no \
  --protected-mode yes \
  --daemonize no \
  --loglevel notice \
  --logfile ""
