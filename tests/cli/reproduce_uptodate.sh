#!/usr/bin/env bash
# The committed reproduction report (reports/deepseek-v3/) is what the code
# generates now: `codesim reproduce` into a temporary folder, then a
# byte-for-byte diff. The output is deterministic (no dates, wall times or
# absolute paths), so any difference means the code or a scenario changed
# and the report must be regenerated.
# $1 = codesim binary, $2 = repository root.
set -u
codesim=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$codesim" --quiet reproduce --root "$root" --out "$tmp/out" 2>"$tmp/err" || fail "reproduce exited $?: $(cat "$tmp/err")"
for f in index.html report.md; do
  [ -s "$tmp/out/$f" ] || fail "$f not written"
done
ls "$tmp/out"/*.svg > /dev/null 2>&1 || fail "no SVG chart written"
# Self-contained: no script, no external resource.
grep -qiE '<script|<link |src="http|href="http' "$tmp/out/index.html" && fail "index.html is not self-contained"

if ! diff -r "$root/reports/deepseek-v3" "$tmp/out" > "$tmp/diff"; then
  head -40 "$tmp/diff"
  echo
  echo "reports/deepseek-v3/ is out of date with the code. Regenerate it from the repository root with:"
  echo "  rm -rf reports/deepseek-v3 && build/cli/codesim reproduce"
  fail "reports/deepseek-v3 differs from codesim reproduce"
fi
echo "reproduce ok: reports/deepseek-v3 is up to date"
