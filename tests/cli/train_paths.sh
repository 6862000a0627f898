#!/usr/bin/env bash
# codesim train's file keys: training.model (and training.calibration) are
# resolved next to the scenario file, --set values against the current
# directory, and an unreadable one is an error at its key, not a bare
# "cannot read file". The closed-form communication keeps this quick.
# Usage: train_paths.sh CODESIM_BINARY REPO_ROOT
set -u
bin=$1
root=$2
fail=0
cd "$root" || exit 1
s=scenarios/paper/v3-train-2048-h800-mpft.yaml
fast=(--set training.comm=analytic)
check() { local what=$1; shift; if ! "$@"; then echo "FAIL: $what"; fail=1; fi; }

"$bin" train "$s" "${fast[@]}" >/dev/null 2>&1
check "the scenario's own ../models path" test $? -eq 0
"$bin" train "$s" "${fast[@]}" --set training.model=scenarios/models/deepseek-v3.yaml \
    --set training.calibration=workloads/calibration.yaml >/dev/null 2>&1
check "--set paths are relative to the current directory" test $? -eq 0
err=$("$bin" train "$s" "${fast[@]}" --set training.model=scenarios/models/nope.yaml 2>&1 >/dev/null)
rc=$?
check "a missing model spec exits 1 (got $rc)" test $rc -eq 1
check "the error names the key: $err" grep -q "key 'training.model': cannot read model spec file 'scenarios/models/nope.yaml'" <<<"$err"
err=$("$bin" train "$s" "${fast[@]}" --set training.calibration=nope.yaml 2>&1 >/dev/null)
check "a missing calibration file names its key: $err" grep -q "key 'training.calibration': cannot read calibration file 'nope.yaml'" <<<"$err"

# What train rejects before it simulates, `check` rejects too: a plan that
# does not fit the cluster, and faults (codesim net only), at their keys.
err=$("$bin" check "$s" --set plan.data.degree=64 2>&1 >/dev/null)
rc=$?
check "check rejects a plan of 1024 GPUs on 2048 (rc $rc)" test $rc -eq 1
check "check names the plan key: $err" grep -q "key 'plan.data.degree': PP x DP x TP = 16 x 64 x 1 = 1024 GPUs" <<<"$err"
err=$("$bin" train "$s" "${fast[@]}" --set "network.faults=[{at: 0us, target: nic, id: 0, factor: 0.1}]" 2>&1 >/dev/null)
rc=$?
check "train rejects network.faults (rc $rc)" test $rc -eq 1
check "the faults error names its key: $err" grep -q "key 'network.faults': codesim train does not model failures" <<<"$err"
exit $fail
