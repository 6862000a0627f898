#!/usr/bin/env bash
# The four output forms of every result-producing command (issue 7): the
# human text on stdout, --json, --csv and --report DIR (index.html with
# inline SVG + report.md), and --trace FILE (Chrome/Perfetto JSON) where the
# command has one; and that bad input writes nothing.
# $1 = the codesim binary, $2 = the repository root.
set -u
bin=$1
root=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # check "what" command...
  local what=$1
  shift
  if ! "$@"; then
    echo "FAIL: $what"
    fail=1
  fi
}
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }
# CSV: a header and at least one row, every row as wide as the header.
csv_ok() {
  python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert len(rows) >= 2, rows
assert all(len(r) == len(rows[0]) for r in rows), [len(r) for r in rows]
assert all(h and h.strip() == h for h in rows[0]), rows[0]
PY
}
report_ok() {  # DIR
  [ -s "$1/index.html" ] && [ -s "$1/report.md" ] && grep -q '<svg' "$1/index.html" &&
    ! ls "$1" | grep -q '\.tmp\.'
}
trace_ok() {  # FILE: a trace-event document with at least one complete ("X") slice
  python3 - "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
ev = t["traceEvents"]
x = [e for e in ev if e["ph"] == "X"]
assert x, "no slices"
assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in x)
PY
}
# keys FILE key... : every key is present at the top level of the JSON object.
keys() {
  python3 - "$@" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
missing = [k for k in sys.argv[2:] if k not in j]
assert not missing, missing
PY
}

# run NAME ARGS...: --json (+ --report, + --trace where given by the caller),
# then --csv, then the text form.
run_forms() {
  local name=$1
  shift
  "$bin" "$@" --json --report "$tmp/$name" >"$tmp/$name.json" 2>"$tmp/$name.err"
  local rc=$?  # before the message's $(tail ...) replaces $?
  check "$name --json --report exits 0 ($(tail -3 "$tmp/$name.err"))" test $rc -eq 0
  check "$name --json parses" json_ok "$tmp/$name.json"
  check "$name --report writes index.html, report.md, <svg" report_ok "$tmp/$name"
  "$bin" "$@" --csv >"$tmp/$name.csv" 2>"$tmp/$name.csv.err"
  check "$name --csv exits 0" test $? -eq 0
  check "$name --csv has a header and rows" csv_ok "$tmp/$name.csv"
  "$bin" "$@" >"$tmp/$name.txt" 2>/dev/null
  check "$name text exits 0" test $? -eq 0
  check "$name text is not empty" test -s "$tmp/$name.txt"
}

P=$root/scenarios/paper
N=$root/scenarios/net

# topology (single and compare)
run_forms topo topology compare "$P/table3-ft2.yaml" "$P/table3-mpft.yaml"
check "topology compare CSV: 2 fabrics" test "$(wc -l <"$tmp/topo.csv")" -eq 3
check "topology compare text keeps its table" grep -q "cost/ep" "$tmp/topo.txt"
check "topology report has the cost-vs-bisection chart" test -s "$tmp/topo/cost-vs-bisection.svg"
run_forms topo1 topology "$P/table3-ft2.yaml"
check "single topology text keeps its lines" grep -q "diameter" "$tmp/topo1.txt"

# train (the 2,048-GPU step, about a second)
run_forms train train "$P/v3-train-2048-h800-mpft.yaml" --trace "$tmp/train-trace.json"
check "train --trace written" trace_ok "$tmp/train-trace.json"
check "train JSON keys" keys "$tmp/train.json" step_time_s tokens_per_day mfu_causal mfu_noncausal \
  gpu_hours_per_trillion_tokens breakdown_s
check "train report has the step timeline" grep -q 'id="step-timeline"' "$tmp/train/index.html"
check "train report has the cost chart" test -s "$tmp/train/cost.svg"
check "train text keeps its lines" grep -q "step time" "$tmp/train.txt"
python3 - "$tmp/train-trace.json" "$tmp/train.json" <<'PY' || { echo "FAIL: train trace content"; fail=1; }
import json, sys
t = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
x = [e for e in t["traceEvents"] if e["ph"] == "X"]
ranks = {e["tid"] for e in x}
assert len(ranks) == len(r["breakdown_per_rank_s"]), (len(ranks), len(r["breakdown_per_rank_s"]))
kinds = {e["cat"] for e in x}
assert {"F", "B", "DP+opt"} <= kinds, kinds
end = max(e["ts"] + e["dur"] for e in x) / 1e6
assert abs(end / r["step_time_s"] - 1) < 1e-6, (end, r["step_time_s"])   # the tail ends the step
# The fullest rank's memory is at least the reported rank's, and its parts add up.
m, p = r["memory_bytes"], r["memory_peak_bytes"]
assert p["total"] >= m["total"] and 0 <= r["memory_peak_rank"] < len(r["breakdown_per_rank_s"]), (m, p)
assert p["total"] == sum(v for k, v in p.items() if k != "total"), p
PY

# serve: the steady state and the decode speed limit
run_forms serve serve "$P/v3-serve-day6.yaml" --trace "$tmp/serve-trace.json"
check "serve --trace written" trace_ok "$tmp/serve-trace.json"
check "serve JSON keys" keys "$tmp/serve.json" tpot_s tokens_per_s_per_user decode_tokens_per_s_per_node
check "serve report has throughput vs TPOT" test -s "$tmp/serve/throughput-vs-tpot.svg"
check "serve report has KV capacity" test -s "$tmp/serve/kv-capacity.svg"
check "serve report marks the SLO" grep -q "TPOT SLO" "$tmp/serve/throughput-vs-tpot.svg"
python3 - "$tmp/serve-trace.json" "$tmp/serve.json" <<'PY' || { echo "FAIL: serve trace sums to the step"; fail=1; }
import json, sys
t = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
x = [e for e in t["traceEvents"] if e["ph"] == "X" and e["pid"] == 0]   # the decode step
total = sum(e["dur"] for e in x) / 1e6
assert abs(total / r["decode_step"]["total_s"] - 1) < 1e-6, (total, r["decode_step"]["total_s"])
PY
run_forms limit serve "$P/v3-decode-limit-ib.yaml"
check "decode-limit report has its chart" test -s "$tmp/limit/decode-limit.svg"

# size (a 2 x 2 search: the full one replays every candidate's all-to-all)
narrow=(--set 'serving.search.prefill_ep=[16,32]' --set 'serving.search.decode_ep=[72,144]')
run_forms size size "$P/v3-serve-day6.yaml" "${narrow[@]}"
check "size JSON keys" keys "$tmp/size.json" prefill_nodes decode_nodes total_nodes cost_per_day_usd \
  prefill_tokens_per_s_per_node decode_tokens_per_s_per_node
check "size text keeps its lines" grep -q "^Cheapest:" "$tmp/size.txt"
python3 - "$tmp/size.json" <<'PY' || { echo "FAIL: size fleet_check keys"; fail=1; }
import json, sys
f = json.load(open(sys.argv[1]))["fleet_check"]
for k in ("replayed", "note", "candidate_rank", "candidates_checked", "candidate", "total_nodes",
          "cost_per_day_usd", "meets_slo", "settled", "slowest_unit_tpot_s", "slowest_unit_ttft_s"):
    assert k in f, (k, f)
assert f["replayed"] and f["meets_slo"] and f["settled"] and f["candidate_rank"] == 1, f
PY
check "size text has the fleet check" grep -q "^  fleet check: " "$tmp/size.txt"
# On a 2:1 single-plane fat tree the units-alone winner (EP64 decode, 216.51
# nodes) needs 244.58 on the shared fabric; EP32 decode (224.85 alone) shares
# nothing and is the cheapest there: size replays both and heads with EP32.
"$bin" -q size "$P/v3-serve-day6.yaml" --set serving.hardware.fabric.kind=ft2 --set serving.hardware.fabric.planes=1 \
  --set serving.hardware.fabric.oversubscription=2 --set 'serving.search.prefill_ep=[16]' \
  --set 'serving.search.decode_ep=[32,64]' --set 'serving.search.mtp_depth=[1]' --json > "$tmp/size-ft2.json" ||
  { echo "FAIL: size on ft2 2:1 exited $?"; fail=1; }
python3 - "$tmp/size-ft2.json" <<'PY' || { echo "FAIL: size ranks on the shared fabric"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
f = d["fleet_check"]
assert d["ranked_on"] == "shared fabric" and d["decode_ep"] == 32, d
assert f["cheapest_proven"] and len(f["replays"]) == 2 and f["candidate_rank"] == 2, f
r = d["runners_up"][0]
assert r["decode_ep"] == 64 and r["rank_alone"] == 1, r
assert r["total_nodes"] < d["total_nodes"] < r["shared_fabric"]["total_nodes"], (r, d["total_nodes"])
PY

# net (small: 128 GPUs, 1 MiB, no faults), then the routing comparison
small=(--set network.faults=[] --set comm.size=1MiB)
run_forms net net "$N/a2a-128-ft2-fault.yaml" "${small[@]}" --trace "$tmp/net-trace.json"
check "net --trace written" trace_ok "$tmp/net-trace.json"
check "net report has the link heatmap" test -s "$tmp/net/link-utilisation.svg"
check "net text keeps its table" grep -q "^adaptive " "$tmp/net.txt"
"$bin" -q net "$N/a2a-128-ft2-fault.yaml" "${small[@]}" --compare-routing --csv --report "$tmp/netcmp" \
  >"$tmp/netcmp.csv" 2>/dev/null
check "net --compare-routing --csv --report exits 0" test $? -eq 0
check "net CSV: 4 policies" test "$(wc -l <"$tmp/netcmp.csv")" -eq 5
check "net report has the per-policy chart" test -s "$tmp/netcmp/completion-per-routing.svg"

# --json and --csv exclude each other.
"$bin" size "$P/v3-serve-day6.yaml" --json --csv >/dev/null 2>&1
check "--json --csv is refused" test $? -ne 0

# Bad input writes nothing: a missing file, an invalid scenario, an
# unwritable report folder.
for cmd in topology train serve size net; do
  "$bin" $cmd "$tmp/missing.yaml" --report "$tmp/bad-$cmd" --json >"$tmp/bad.out" 2>/dev/null
  check "$cmd missing file exits non-zero" test $? -ne 0
  check "$cmd missing file: no report folder" test ! -e "$tmp/bad-$cmd"
  check "$cmd missing file: nothing on stdout" test ! -s "$tmp/bad.out"
done
"$bin" train "$tmp/missing.yaml" --trace "$tmp/bad-trace.json" >/dev/null 2>&1
check "train missing file: no trace" test ! -e "$tmp/bad-trace.json"
"$bin" topology "$root/tests/bad/ft2-too-many-nodes.yaml" --report "$tmp/bad-topo" >"$tmp/bad.out" 2>/dev/null
check "invalid scenario exits non-zero" test $? -ne 0
check "invalid scenario: no report folder" test ! -e "$tmp/bad-topo"
check "invalid scenario: nothing on stdout" test ! -s "$tmp/bad.out"
"$bin" train "$P/v3-train-2048-h800-mpft.yaml" --set plan.pipeline.degree=7 --report "$tmp/bad-train" \
  --trace "$tmp/bad-train.json" >"$tmp/bad.out" 2>/dev/null
check "train with a bad plan exits non-zero" test $? -ne 0
check "train with a bad plan: no report, no trace" test ! -e "$tmp/bad-train" -a ! -e "$tmp/bad-train.json"
touch "$tmp/file"
"$bin" topology "$P/table3-ft2.yaml" --report "$tmp/file/sub" >"$tmp/bad.out" 2>"$tmp/bad.err"
check "unwritable report folder exits non-zero" test $? -ne 0
check "unwritable report folder: nothing on stdout" test ! -s "$tmp/bad.out"
check "unwritable report folder: one error line" test "$(grep -c 'codesim: cannot' "$tmp/bad.err")" -eq 1
"$bin" serve "$P/v3-serve-day6.yaml" --trace "$tmp/file/t.json" --report "$tmp/serve-bad" >"$tmp/bad.out" 2>/dev/null
check "unwritable trace exits non-zero" test $? -ne 0
check "unwritable trace: no report, nothing on stdout" test ! -e "$tmp/serve-bad" -a ! -s "$tmp/bad.out"

[ $fail -eq 0 ] && echo "output forms ok"
exit $fail
