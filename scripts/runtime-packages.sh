#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries BINARY links (from ldd), one per line.
# The image's runtime stage installs exactly these, so its library list cannot drift from the
# build's; it fails if a library is not found or belongs to no package.
#
#   scripts/runtime-packages.sh build/cloudjet
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BINARY" >&2; exit 2; }

owner() {
  # usrmerge: dpkg may have recorded /lib/... or /usr/lib/... for the same file.
  local f=$1 real alt
  real=$(readlink -f "$f")
  for alt in "$f" "$real" "${f#/usr}" "/usr${f}" "${real#/usr}" "/usr${real}"; do
    if out=$(dpkg-query -S "$alt" 2>/dev/null); then
      echo "${out%%:*}" | sed 's/:.*//' | tr ',' '\n' | sed 's/^ *//'
      return 0
    fi
  done
  echo "runtime-packages: $f belongs to no Debian package" >&2
  return 1
}

libs=$(ldd "$1")
if grep -q 'not found' <<<"$libs"; then
  echo "runtime-packages: unresolved libraries:" >&2
  grep 'not found' <<<"$libs" >&2
  exit 1
fi
# Lines "libx.so.N => /path (0x...)" and the loader "/lib64/ld-linux-x86-64.so.2 (0x...)".
paths=$(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$libs")
for p in $paths; do owner "$p"; done | sed 's/:[a-z0-9_]*$//' | sort -u
