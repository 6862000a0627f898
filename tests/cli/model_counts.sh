#!/usr/bin/env bash
# codesim model / trace-import end to end: JSON keys and values (T1, T4 of
# shared/reference/deepseek-v3-published.md), text output, and non-zero exit
# with a file:line message on a bad model file.
# Usage: model_counts.sh CODESIM_BINARY REPO_ROOT
set -u
bin=$1
root=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if ! "$@"; then
    echo "FAIL: $what"
    fail=1
  fi
}

"$bin" model "$root/scenarios/models/deepseek-v3.yaml" --seq-len 4096 --json >"$tmp/v3.json"
check "model --json exits 0" test $? -eq 0
python3 - "$tmp/v3.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("params_total", "params_activated", "kv_cache_bytes_per_token",
          "train_flops_per_token_causal", "train_flops_per_token_noncausal"):
    assert k in j, "missing key " + k
assert j["kv_cache_bytes_per_token"] == 70272, j["kv_cache_bytes_per_token"]        # T1
assert abs(j["train_flops_per_token_causal"] / 250e9 - 1) < 0.02, j["train_flops_per_token_causal"]  # T4
assert abs(j["params_total"] / 671e9 - 1) < 0.005, j["params_total"]              # T31
PY

"$bin" model "$root/scenarios/models/llama-3.1-405b.yaml" >"$tmp/llama.txt"
check "model (text) exits 0" test $? -eq 0
check "text output has the KV line" grep -q "516096 B (BF16)" "$tmp/llama.txt"

printf 'name: bad\nvocab_size: 10\ndim: 8\ninter_dim: 8\nn_layers: 1\nn_heads: 1\nattention: gqa\ngqa: {n_kv_heads: 1, head_dim: 8}\nbogus_key: 1\n' >"$tmp/bad.yaml"
"$bin" model "$tmp/bad.yaml" --json >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
check "bad model file exits non-zero (got $rc)" test $rc -ne 0
check "error names file, line and key" grep -q "bad.yaml:9.*bogus_key" "$tmp/bad.err"
check "nothing printed on stdout for a bad file" test ! -s "$tmp/bad.out"

"$bin" -q model "$root/scenarios/models/deepseek-v3.yaml" --set n_layers=6 --trace-out "$tmp/t.json" \
  --scale-from "$root/scenarios/models/tiny-deepseek.yaml" --ep 64 --max-nodes 4 >/dev/null
check "model --trace-out --scale-from exits 0" test $? -eq 0
python3 - "$tmp/t.json" <<'PY' || fail=1
import json, sys
t = json.load(open(sys.argv[1]))
assert t["format"] == "codesim-trace" and t["meta"]["producer"] == "scaled"
assert len(t["routing"]) == 3 and len(t["traffic"]) == 3          # layers 3..5 are MoE
n = t["traffic"][0]["dispatch_node"]
copies = sum(map(sum, n)) / 7392 / 4096                            # node copies per token
assert 1 <= copies <= 4, copies                                    # node limit M = 4
PY

# The routing proxy (DeepSeek-V3's gate, small body) run by the reference
# forward: the full trace keeps its measured nodes per token. The gate keeps
# the 4 groups whose top-2 scores are highest, so the top-8 nearly always
# spans all 4 (3.97 measured); the analytic uniform-spread estimate would be
# 4 (1 - 0.75^8) = 3.60. Band: > 3.8 and <= 4 (the node limit).
"$bin" -q model "$root/scenarios/models/deepseek-v3.yaml" --set n_layers=6 --trace-out "$tmp/p.json" \
  --scale-from "$root/scenarios/models/deepseek-v3-routing-proxy.yaml" --ep 64 --max-nodes 4 >/dev/null
check "model --scale-from the routing proxy exits 0" test $? -eq 0
python3 - "$tmp/p.json" <<'PY' || fail=1
import json, sys
t = json.load(open(sys.argv[1]))
assert "reference forward" in t["meta"]["notes"], t["meta"]["notes"]
r = t["routing"][0]; k = r["top_k"]; e = r["experts"]
nodes = [len({x // 32 for x in e[i * k:(i + 1) * k]}) for i in range(r["n_tokens"])]
mean = sum(nodes) / len(nodes)
assert max(nodes) <= 4 and 3.8 < mean <= 4, mean
PY

# A full-size model as the small run: refused with a pointer, not run.
"$bin" -q model "$root/scenarios/models/deepseek-v3.yaml" --trace-out "$tmp/big.json" \
  --scale-from "$root/scenarios/models/deepseek-v3.yaml" >/dev/null 2>"$tmp/big.err"
check "--scale-from a 671B model exits non-zero" test $? -ne 0
check "the error says why and what to use" grep -q "too large for the reference forward.*routing-proxy" "$tmp/big.err"
check "no trace written for the refused run" test ! -e "$tmp/big.json"

"$bin" model "$tmp/missing.yaml" >/dev/null 2>&1
check "missing file exits non-zero" test $? -ne 0

profile="$root/../shared/reference/profile-data/train.json"
if [ -f "$profile" ]; then
  "$bin" trace-import "$profile" --json --out "$tmp/profile-trace.json" >"$tmp/prof.json"
  check "trace-import exits 0" test $? -eq 0
  python3 - "$tmp/prof.json" "$tmp/profile-trace.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
g = {(x["phase"], x["class"]): x for x in j["groups"]}
assert abs(g[("attn(F)", "flash_attn_fwd")]["mean_per_layer_ms"] - 1.24) < 0.005          # T29
assert abs(g[("dispatch(F)", "ep_dispatch")]["mean_per_layer_ms"] - 4.35) < 0.005         # T29
t = json.load(open(sys.argv[2]))
assert t["format"] == "codesim-trace" and t["version"] == 1
PY
fi

exit $fail
