#!/usr/bin/env bash
# The main job: one DeepSeek-V3 training step on 2,048 H800s over the
# multi-plane fat tree (ISCA'25 Table 4), then the paper's Table 3 fabric
# comparison (size and cost of five fabrics).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"${CODESIM_BIN:-build/cli/codesim}" train scenarios/paper/v3-train-2048-h800-mpft.yaml
echo
"${CODESIM_BIN:-build/cli/codesim}" topology compare scenarios/paper/table3-*.yaml
