#!/bin/bash
set -euo pipefail
defined=$(printf '${%s} ' $(env | cut -d= -f1))
for t in /etc/nginx/templates/*.template; do
  [[ -e "$t" ]] || continue
  out=/etc/nginx/conf.d/$(basename "${t%.template}")
  envsubst "$defined" < "$t" > "$out"
done
exec "$@"
