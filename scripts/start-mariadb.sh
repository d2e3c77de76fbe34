#!/usr/bin/env bash
# Runs a private MariaDB for tests and local development, in the foreground.
#
#   scripts/start-mariadb.sh DATADIR PORT
#
# Initialises DATADIR with mariadb-install-db when it holds no database yet (root@localhost with
# no password, no test database), then replaces this shell with mariadbd (`exec`), so the caller
# owns the server process: SIGTERM to the PID it started shuts MariaDB down cleanly.
# Listens on 127.0.0.1:PORT only; socket, pid file and error log live inside DATADIR. System
# option files (/etc/mysql) are ignored (--no-defaults) so the host configuration cannot leak in.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DATADIR PORT" >&2
  exit 2
fi
if ! [[ "$2" =~ ^[0-9]+$ ]] || (( $2 < 1 || $2 > 65535 )); then
  echo "start-mariadb: invalid port: $2" >&2
  exit 2
fi

mkdir -p "$1"
DATADIR=$(cd "$1" && pwd -P)
PORT=$2
SOCKET="$DATADIR/mysql.sock"
if (( ${#SOCKET} > 100 )); then
  echo "start-mariadb: socket path too long for a unix socket: $SOCKET" >&2
  exit 2
fi

find_bin() {
  local b
  for b in "$@"; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
    if [[ -x "/usr/sbin/$b" ]]; then echo "/usr/sbin/$b"; return 0; fi
  done
  echo "start-mariadb: none of [$*] found; run scripts/install-deps.sh --test" >&2
  return 1
}
MARIADBD=$(find_bin mariadbd mysqld)

if [[ ! -d "$DATADIR/mysql" ]]; then
  INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db)
  "$INSTALL_DB" --no-defaults \
    --datadir="$DATADIR" \
    --user=root \
    --auth-root-authentication-method=normal \
    --skip-test-db \
    --skip-name-resolve \
    > "$DATADIR/install-db.log" 2>&1 || {
      echo "start-mariadb: mariadb-install-db failed, see $DATADIR/install-db.log:" >&2
      tail -n 20 "$DATADIR/install-db.log" >&2
      exit 1
    }
fi

exec "$MARIADBD" --no-defaults \
  --datadir="$DATADIR" \
  --user=root \
  --bind-address=127.0.0.1 \
  --port="$PORT" \
  --socket="$SOCKET" \
  --pid-file="$DATADIR/mariadbd.pid" \
  --log-error="$DATADIR/error.log" \
  --tmpdir="$DATADIR" \
  --skip-name-resolve \
  --character-set-server=utf8mb4 \
  --collation-server=utf8mb4_unicode_ci \
  --innodb-buffer-pool-size=64M \
  --innodb-log-file-size=32M \
  --max-connections=200
