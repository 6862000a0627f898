#!/usr/bin/env bash
# The main job: until the training simulator lands, the paper's Table 3
# topology comparison (cost and size of five fabrics).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exec build/cli/codesim topology compare scenarios/paper/table3-*.yaml
