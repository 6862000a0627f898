#!/usr/bin/env bash
# codesim net: JSON keys, the routing comparison, fault reporting, bad input.
# Usage: net.sh CODESIM REPO_ROOT
set -euo pipefail
codesim="$1"
root="$2"
scn="$root/scenarios/net/a2a-128-ft2-fault.yaml"
out=$("$codesim" net "$scn" --json --set network.faults=[] --set comm.size=1MiB)
for key in completion_time_s flows algorithm_bandwidth_GBps bus_bandwidth_GBps; do
  grep -q "\"$key\"" <<<"$out" || { echo "missing key $key in: $out"; exit 1; }
done
grep -q '"flows": 16256' <<<"$out" || { echo "expected 128 x 127 flows: $out"; exit 1; }
cmp=$("$codesim" net "$scn" --set network.faults=[] --set comm.size=1MiB --compare-routing)
for pol in ecmp adaptive spray dmodk; do
  grep -q "^$pol " <<<"$cmp" || { echo "no $pol row in: $cmp"; exit 1; }
done
faults=$("$codesim" net "$scn" --set comm.size=1MiB)
grep -q "switch 5 failed" <<<"$faults" || { echo "fault not reported: $faults"; exit 1; }
grep -q "re-routed" <<<"$faults" || { echo "re-routing not reported: $faults"; exit 1; }
# Two failed switches cut flows off: exit 2, and a
# collective that did not complete reports no bandwidth (it counted the
# undelivered bytes: 266 GB/s on a 50 GB/s NIC).
set +e
cut=$("$codesim" net "$scn" --json --set comm.size=1MiB \
      --set "network.faults=[{at: 0us, target: switch, id: 4},{at: 0us, target: switch, id: 5}]")
rc=$?
set -e
[ "$rc" = 2 ] || { echo "undelivered flows should exit 2, got $rc"; exit 1; }
python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["runs"][-1] if "runs" in d else d; \
assert r["undelivered_flows"] > 0 and r["algorithm_bandwidth_GBps"] == 0, r' <<<"$cut" \
  || { echo "incomplete collective reports a bandwidth: $cut"; exit 1; }
# Bad input: unknown routing policy -> non-zero exit and the key named.
if err=$("$codesim" net "$scn" --set network.routing=magic 2>&1); then
  echo "expected failure for an unknown routing policy"; exit 1
fi
grep -q "network.routing" <<<"$err" || { echo "error does not name the key: $err"; exit 1; }
echo ok

# Two NICs per GPU on a single-plane fat tree: each sender port lands on
# the receiver's port of the same index, so every GPU sends and receives on
# both and a NIC-bound all-to-all takes half the time under spraying (it
# used to land every flow on the receiver's first NIC: no faster). 2%:
# the NVLink share of the node-local copies.
one=$("$codesim" net "$scn" --json --set network.faults=[] --set comm.size=4MiB --set network.routing=spray \
      --set cluster.node_spec.pcie_per_direction=200GB/s)
two=$("$codesim" net "$scn" --json --set network.faults=[] --set comm.size=4MiB --set network.routing=spray \
      --set cluster.node_spec.pcie_per_direction=200GB/s --set cluster.node_spec.nics_per_gpu=2)
python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); \
r=a["completion_time_s"]/b["completion_time_s"]; assert abs(r-2)<0.04, r' "$one" "$two" \
  || { echo "two NICs per GPU should halve a NIC-bound all-to-all: $one / $two"; exit 1; }
echo "net ok (two NICs)"
