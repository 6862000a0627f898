#!/usr/bin/env bash
# CLI test of `codesim topology` and `codesim topology compare`.
# $1 = the codesim binary, $2 = the repository root.
# Checks: the JSON keys and Table 3 counts (T10), exit codes, and that a bad
# file gives a non-zero exit, a file:line:col: key '...' message and no output.
set -u
bin=$1
root=$2
fail=0
check() {  # check "what" condition...
  local what=$1
  shift
  if ! "$@"; then
    echo "FAIL: $what"
    fail=1
  fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" topology compare --json "$root"/scenarios/paper/table3-*.yaml >"$tmp/out.json" 2>"$tmp/err"
check "compare --json exits 0" test $? -eq 0
for key in name endpoints switches links cost_usd cost_per_endpoint_usd; do
  n=$(grep -c "\"$key\":" "$tmp/out.json")
  check "key $key in all 5 objects (found $n)" test "$n" -eq 5
done
check "JSON is an array" test "$(head -c1 "$tmp/out.json")" = "["
for v in '"endpoints": 2048' '"switches": 96' '"endpoints": 16384' '"switches": 768' \
         '"endpoints": 65536' '"links": 131072' '"endpoints": 32928' '"switches": 1568' \
         '"endpoints": 261632' '"switches": 16352' '"links": 384272'; do
  check "Table 3 value $v" grep -q "$v" "$tmp/out.json"
done

"$bin" topology compare "$root"/scenarios/paper/table3-ft2.yaml "$root"/scenarios/paper/table3-mpft.yaml >"$tmp/table" 2>&1
check "compare table exits 0" test $? -eq 0
check "table has a header" grep -q "cost/ep" "$tmp/table"
check "table has MPFT" grep -q "^MPFT" "$tmp/table"

"$bin" topology "$root"/scenarios/paper/table3-ft2.yaml >"$tmp/one" 2>&1
check "single topology exits 0" test $? -eq 0
check "single topology prints diameter" grep -q "diameter" "$tmp/one"

bad="$root/tests/bad/ft2-too-many-nodes.yaml"
"$bin" topology "$bad" >"$tmp/bad.out" 2>"$tmp/bad.err"
check "bad file exits non-zero" test $? -ne 0
check "bad file: file:line:col: key message" grep -q "ft2-too-many-nodes.yaml:5:10: key 'cluster.nodes'" "$tmp/bad.err"
check "bad file: nothing on stdout" test ! -s "$tmp/bad.out"

"$bin" topology compare --json "$root"/scenarios/paper/table3-ft2.yaml "$bad" >"$tmp/mixed.out" 2>"$tmp/mixed.err"
check "one bad file among good ones exits non-zero" test $? -ne 0
check "one bad file: nothing half-written" test ! -s "$tmp/mixed.out"

if [ $fail -ne 0 ]; then
  echo "--- stderr of compare:"; cat "$tmp/err"; echo "--- bad.err:"; cat "$tmp/bad.err"
fi
exit $fail
