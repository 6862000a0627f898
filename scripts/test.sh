#!/usr/bin/env bash
# README command 2 (and CI): install the dependencies, build, run the whole
# test suite, then build and run it again under AddressSanitizer + UBSan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
jobs=${CODESIM_JOBS:-$(nproc)}
echo "== Release build and tests" >&2
"$root/scripts/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure -j"$jobs" --timeout 600)
if [ "${CODESIM_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== AddressSanitizer + UBSan build and tests" >&2
  "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCODESIM_SANITIZE=ON -DCODESIM_BUILD_BENCH=OFF
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j"$jobs" --timeout 1200 -LE slow)
fi
