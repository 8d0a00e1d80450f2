#!/usr/bin/env bash
# Prints the Debian/Ubuntu packages that hold the shared libraries the given binaries load
# (ldd + dpkg -S), one per line. The Dockerfiles run it in the build stage so the slim runtime
# stage installs exactly those and nothing else: deploy/docker/runtime_packages.sh build/bin/attnserve ...
set -euo pipefail
for binary in "$@"; do
  ldd "$binary" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  real="$(readlink -f "$lib")"
  found=""
  # usrmerge: a library may be registered under /lib or /usr/lib, by its link or its target.
  for path in "$lib" "$real" "/usr$lib" "/usr$real" "${lib#/usr}" "${real#/usr}"; do
    if owner="$(dpkg -S "$path" 2>/dev/null)"; then
      echo "${owner%%:*}"
      found=1
      break
    fi
  done
  if [ -z "$found" ]; then echo "runtime_packages.sh: no package owns $lib" >&2; exit 1; fi
done | sort -u
