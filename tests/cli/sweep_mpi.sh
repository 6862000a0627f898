#!/usr/bin/env bash
# `codesim sweep` gives the same rows single-process, with threads, and over
# 2 MPI ranks (oversubscribed; as root where needed), and resumes.
set -u
bin=$1; root=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
sweep=$root/scenarios/sweeps/fabric-cost.yaml

"$bin" sweep "$sweep" --out "$tmp/one" -j1 >"$tmp/one.txt" 2>&1 || fail "single run: $(cat "$tmp/one.txt")"
"$bin" sweep "$sweep" --out "$tmp/two" -j2 >"$tmp/two.txt" 2>&1 || fail "threads run: $(cat "$tmp/two.txt")"
cmp -s "$tmp/one/rows.csv" "$tmp/two/rows.csv" || fail "threads differ from single process"

# Resume: a second run evaluates nothing.
"$bin" sweep "$sweep" --out "$tmp/one" -j1 >"$tmp/again.txt" 2>&1 || fail "resume run"
grep -q "(0 evaluated" "$tmp/again.txt" || fail "resume did not skip done points: $(cat "$tmp/again.txt")"

# Rows are resumed only under the same context: an edited sweep file (or
# base scenario, or a rebuilt codesim, or --full after the fast model)
# recomputes every point.
sed "s|base: |base: $root/scenarios/sweeps/|" "$sweep" >"$tmp/copy.yaml"
"$bin" sweep "$tmp/copy.yaml" --out "$tmp/ctx" -j1 >"$tmp/ctx1.txt" 2>&1 || fail "copy run: $(cat "$tmp/ctx1.txt")"
grep -q '"context":"topology build ' "$tmp/ctx/rows.jsonl" || fail "rows carry no context: $(head -c 300 "$tmp/ctx/rows.jsonl")"
echo "# edited" >>"$tmp/copy.yaml"
"$bin" sweep "$tmp/copy.yaml" --out "$tmp/ctx" -j1 >"$tmp/ctx2.txt" 2>&1 || fail "edited run: $(cat "$tmp/ctx2.txt")"
grep -q "evaluated, 0 resumed" "$tmp/ctx2.txt" || fail "an edited sweep resumed old rows: $(cat "$tmp/ctx2.txt")"
cmp -s "$tmp/one/rows.csv" "$tmp/ctx/rows.csv" || fail "the recomputed rows differ"
# ... and so does an edited file that an axis value names (here the prices).
cp "$root/scenarios/prices/default.yaml" "$tmp/prices.yaml"
sed "s|base: |base: $root/scenarios/sweeps/|; s|^  axes:|  axes:\n    - {key: cluster.prices, values: [$tmp/prices.yaml]}|" "$sweep" >"$tmp/axis.yaml"
"$bin" sweep "$tmp/axis.yaml" --out "$tmp/axis" -j1 >"$tmp/axis1.txt" 2>&1 || fail "axis run: $(cat "$tmp/axis1.txt")"
"$bin" sweep "$tmp/axis.yaml" --out "$tmp/axis" -j1 >"$tmp/axis2.txt" 2>&1 || fail "axis rerun: $(cat "$tmp/axis2.txt")"
grep -q "(0 evaluated" "$tmp/axis2.txt" || fail "an unedited axis file did not resume: $(cat "$tmp/axis2.txt")"
echo "# edited" >>"$tmp/prices.yaml"
"$bin" sweep "$tmp/axis.yaml" --out "$tmp/axis" -j1 >"$tmp/axis3.txt" 2>&1 || fail "axis rerun: $(cat "$tmp/axis3.txt")"
grep -q "evaluated, 0 resumed" "$tmp/axis3.txt" || fail "an edited axis file resumed old rows: $(cat "$tmp/axis3.txt")"
# ... and a file that a named file includes.
printf 'include: prices.yaml\n' >"$tmp/outer.yaml"
sed "s|$tmp/prices.yaml|$tmp/outer.yaml|" "$tmp/axis.yaml" >"$tmp/nested.yaml"
"$bin" sweep "$tmp/nested.yaml" --out "$tmp/nested" -j1 >"$tmp/n1.txt" 2>&1 || fail "nested run: $(cat "$tmp/n1.txt")"
echo "# edited again" >>"$tmp/prices.yaml"
"$bin" sweep "$tmp/nested.yaml" --out "$tmp/nested" -j1 >"$tmp/n2.txt" 2>&1 || fail "nested rerun: $(cat "$tmp/n2.txt")"
grep -q "evaluated, 0 resumed" "$tmp/n2.txt" || fail "an edited nested include resumed old rows: $(cat "$tmp/n2.txt")"

if command -v mpirun >/dev/null; then
  flags="--oversubscribe"
  [ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
  # OpenMPI does not free what MPI_Init allocates; under LeakSanitizer that
  # is reported as a leak of the library, not of codesim.
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 OMPI_MCA_plm_rsh_agent=false timeout 120 mpirun $flags -n 2 "$bin" sweep "$sweep" --out "$tmp/mpi" >"$tmp/mpi.txt" 2>&1 \
    || fail "mpirun -n 2: $(cat "$tmp/mpi.txt")"
  cmp -s "$tmp/one/rows.csv" "$tmp/mpi/rows.csv" || fail "MPI rows differ: $(diff "$tmp/one/rows.csv" "$tmp/mpi/rows.csv" | head)"
  echo "mpirun -n 2 matches the single-process run"
else
  echo "mpirun not installed: MPI part skipped"
fi

# A bad sweep file is a located error and a non-zero exit.
printf 'sweep:\n  name: x\n  base: nothere.yaml\n  mode: topology\n  axes: [{key: a, values: [1]}]\n' >"$tmp/bad.yaml"
if "$bin" sweep "$tmp/bad.yaml" --out "$tmp/bad" >"$tmp/bad.txt" 2>&1; then fail "bad sweep exited 0"; fi
grep -q "bad.yaml:3:9: key 'sweep.base'" "$tmp/bad.txt" || fail "bad sweep message: $(cat "$tmp/bad.txt")"
echo "sweep CLI ok"
