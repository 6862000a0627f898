#!/usr/bin/env bash
# Enforces the one-way dependency order on #include lines:
#   sim <- {topology, models} <- workloads <- scenarios <- {reports, cli}
# A file in a folder may include only its own folder and the folders below it.
set -u
root=${1:-.}
declare -A allowed=(
  [sim]="sim"
  [topology]="sim topology"
  [models]="sim models"
  [workloads]="sim topology models workloads"
  [scenarios]="sim topology models workloads scenarios"
  [reports]="sim topology models workloads scenarios reports"
  [cli]="sim topology models workloads scenarios reports cli"
)
bad=0
for dir in "${!allowed[@]}"; do
  [ -d "$root/$dir" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    case " ${allowed[$dir]} " in
      *" $inc "*) ;;
      *) echo "layering violation: $line ($dir may include only: ${allowed[$dir]})"; bad=1 ;;
    esac
  done < <(grep -rnE '#include "(sim|topology|models|workloads|scenarios|reports|cli)/' "$root/$dir" --include='*.hpp' --include='*.cpp' || true)
done
[ $bad -eq 0 ] && echo "layering ok"
exit $bad
