#!/usr/bin/env bash
# codesim serve --json end to end on the day-6 scenario: the keys issue 6
# names (tpot_s, tokens_per_s_per_user, decode_tokens_per_s_per_node), how
# each pool's all-to-all was timed and its EPLB placement, the fleet replay
# on one fabric, and a clean
# non-zero exit for a bad --set.
# Usage: serve_json.sh CODESIM_BINARY REPO_ROOT
set -u
bin=$1
root=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { local what=$1; shift; if ! "$@"; then echo "FAIL: $what"; fail=1; fi; }

"$bin" serve "$root/scenarios/paper/v3-serve-day6.yaml" --json >"$tmp/s.json"
check "serve --json exits 0" test $? -eq 0
python3 - "$tmp/s.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
def find(d, key):
    if isinstance(d, dict):
        if key in d: return d[key]
        for v in d.values():
            r = find(v, key)
            if r is not None: return r
    return None
for k in ("tpot_s", "tokens_per_s_per_user", "decode_tokens_per_s_per_node", "ep_comm_timing", "expert_placement"):
    assert find(j, k) is not None, k
p = find(j, "expert_placement")
assert "288 slots on 144 GPUs" in p["decode"] and "1.125" in p["decode"], p
assert "hierarchical" in p["prefill"], p
# The whole fleet on one MPFT (non-blocking): sharing changes nothing.
f = j["fleet_comm"]
# Every unit of both pools is on the fabric.
assert f["replayed"] and f["nodes"] == j["prefill_nodes"] + j["decode_nodes"], (f, j["prefill_nodes"], j["decode_nodes"])
assert abs(f["decode_shared_ps_per_token"] / f["decode_alone_ps_per_token"] - 1) < 1e-6, f
assert abs(f["prefill_shared_ps_per_token"] / f["prefill_alone_ps_per_token"] - 1) < 1e-6, f
assert "shared mpft fabric of %d nodes" % f["nodes"] in j["ep_comm_timing"]["decode"], j["ep_comm_timing"]
PY

"$bin" serve "$root/scenarios/paper/v3-serve-day6.yaml" --json --set serving.decode.head_tp=3 >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
check "head_tp not dividing the node exits non-zero (got $rc)" test $rc -ne 0
check "the error names the key" grep -q "serving.decode.head_tp" "$tmp/bad.err"
check "nothing on stdout for a bad --set" test ! -s "$tmp/bad.out"
exit $fail
