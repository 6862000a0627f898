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
  # -O1 without -g: sanitizer checks stay, the build is much faster on 2 cores.
  "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 \
      -DCODESIM_SANITIZE=ON -DCODESIM_BUILD_BENCH=OFF
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j"$jobs" --timeout 1200 -LE slow)
fi
