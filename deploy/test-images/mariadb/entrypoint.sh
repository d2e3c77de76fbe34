#!/bin/bash
# First start: initialise the data dir, create MARIADB_DATABASE and MARIADB_USER with
# MARIADB_PASSWORD (from the environment, never printed), then run the server in the foreground.
# root can only log in through the unix socket as the container's root (as with the official
# image's MARIADB_RANDOM_ROOT_PASSWORD, nobody knows a root password).
set -euo pipefail
DATADIR=/var/lib/mysql
if [[ ! -d "$DATADIR/mysql" ]]; then
  : "${MARIADB_DATABASE:?}" "${MARIADB_USER:?}" "${MARIADB_PASSWORD:?}"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db \
    --auth-root-authentication-method=socket >/dev/null
  # A private socket while initialising, so the health check cannot pass before the user exists.
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  for _ in $(seq 1 60); do
    mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  esc_pw=${MARIADB_PASSWORD//\\/\\\\}
  esc_pw=${esc_pw//\'/\\\'}
  mariadb --socket=/run/mysqld/init.sock <<SQL
CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '${MARIADB_USER}'@'%' IDENTIFIED BY '${esc_pw}';
GRANT ALL PRIVILEGES ON \`${MARIADB_DATABASE}\`.* TO '${MARIADB_USER}'@'%';
FLUSH PRIVILEGES;
SQL
  kill "$pid"
  wait "$pid" || true
  echo "mariadb stand-in: initialised database ${MARIADB_DATABASE} for ${MARIADB_USER}"
fi
if [[ "${1:-}" == mariadbd ]]; then
  shift
  exec mariadbd --user=mysql --datadir="$DATADIR" --bind-address=0.0.0.0 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci "$@"
fi
exec "$@"
