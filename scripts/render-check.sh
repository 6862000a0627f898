#!/usr/bin/env bash
# Renders codesim's generated report pages in headless Chromium and saves
# screenshots, for a human to look at (not part of the test suite: CI does
# not need Chromium; tests/reports/*_test.cpp check the SVG/HTML structure).
#
#   scripts/render-check.sh [BUILD_DIR] [OUT_DIR]
#
# Renders: the chart gallery (one chart of each kind, written by
# reports_tests' Gallery.AllCharts) and `codesim validate --report`.
# Screenshots (OUT_DIR defaults to BUILD_DIR/render-check): OUT_DIR/gallery.png, OUT_DIR/validate.png (1280x2000).
# CODESIM_BIN overrides the codesim binary (default BUILD_DIR/cli/codesim).
# Chromium: Debian's `chromium` package (apt-get install -y chromium).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=${2:-$build/render-check}
mkdir -p "$out"
out=$(cd "$out" && pwd)

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "render-check: chromium not found; install it with: apt-get install -y chromium" >&2
  exit 2
fi

CODESIM_GALLERY_DIR="$out/gallery" "$build/tests/reports_tests" --gtest_filter='Gallery.*' >/dev/null
"${CODESIM_BIN:-$build/cli/codesim}" --quiet validate --root "$root" --report "$out/validate" >/dev/null || true

shoot() {  # shoot HTML PNG
  local profile
  profile=$(mktemp -d)
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --screenshot="$2" --window-size=1280,2000 "file://$1" >/dev/null 2>&1
  rm -rf "$profile"
  [ -s "$2" ] || { echo "render-check: no screenshot for $1" >&2; return 1; }
  echo "wrote $2"
}
shoot "$out/gallery/index.html" "$out/gallery.png"
shoot "$out/validate/index.html" "$out/validate.png"
