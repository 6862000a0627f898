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
# Bad input: unknown routing policy -> non-zero exit and the key named.
if err=$("$codesim" net "$scn" --set network.routing=magic 2>&1); then
  echo "expected failure for an unknown routing policy"; exit 1
fi
grep -q "network.routing" <<<"$err" || { echo "error does not name the key: $err"; exit 1; }
echo ok
