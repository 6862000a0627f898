#!/usr/bin/env bash
# README command 1: install the dependencies, build codesim (Release), and run
# the main job on a bundled scenario.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
cd "$root"
exec "$root/scripts/main-job.sh"
