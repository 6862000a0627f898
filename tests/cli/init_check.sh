#!/usr/bin/env bash
# codesim init writes an example scenario that `codesim check` accepts, and
# refuses to overwrite a file unless --force.
# $1 = codesim binary, $2 = repository root.
set -u
codesim=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$codesim" init "$tmp/s.yaml" 2>/dev/null || fail "init exited non-zero"
[ -s "$tmp/s.yaml" ] || fail "init wrote nothing"
grep -q '^#' "$tmp/s.yaml" || fail "example has no comments"
"$codesim" check "$tmp/s.yaml" || fail "codesim check rejects the init example"
"$codesim" show "$tmp/s.yaml" >/dev/null || fail "codesim show rejects the init example"

# What `show` prints loads back, from any folder: every bundled scenario
# (file keys printed as absolute paths, defaults written out accepted).
root=$2
for f in "$root"/scenarios/paper/*.yaml "$root"/scenarios/examples/*.yaml; do
  "$codesim" show "$f" > "$tmp/shown.yaml" 2>/dev/null || fail "show rejects $f"
  (cd "$tmp" && "$codesim" --quiet check shown.yaml) || fail "show's output of $f does not load back"
done
rm -f "$tmp/shown.yaml"

# No overwrite without --force; the file is unchanged.
echo "name: mine" > "$tmp/mine.yaml"
if "$codesim" init "$tmp/mine.yaml" 2>"$tmp/err"; then fail "init overwrote an existing file"; fi
grep -q "already exists" "$tmp/err" || fail "no 'already exists' message: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "error is not one line"
[ "$(cat "$tmp/mine.yaml")" = "name: mine" ] || fail "existing file changed"
"$codesim" init --force "$tmp/mine.yaml" 2>/dev/null || fail "init --force failed"
cmp -s "$tmp/s.yaml" "$tmp/mine.yaml" || fail "--force did not write the example"

# '-' prints it; --quiet prints no note.
"$codesim" init - | cmp -s - "$tmp/s.yaml" || fail "init - differs from the file"
out=$("$codesim" --quiet init "$tmp/q.yaml" 2>&1) || fail "quiet init failed"
[ -z "$out" ] || fail "--quiet still printed: $out"
ls -A "$tmp" | grep -q tmp && fail "temporary file left behind"
echo "init_check ok"
