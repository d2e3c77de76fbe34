#!/bin/bash
# The subset of the official image's healthcheck.sh that deploy/compose.yaml uses:
# --connect (the server answers on its socket) and --innodb_initialized (InnoDB is usable).
set -euo pipefail
for arg in "$@"; do
  case "$arg" in
    --connect) mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null ;;
    --innodb_initialized)
      [[ $(mariadb --socket=/run/mysqld/mysqld.sock -N -e \
        "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE='InnoDB' AND SUPPORT IN ('YES','DEFAULT')") == 1 ]] ;;
    *) echo "healthcheck.sh: unsupported option $arg" >&2; exit 2 ;;
  esac
done
