#!/usr/bin/env bash
# Installs codesim's build and test dependencies from Debian 12's packages
# (apt only; nothing else is downloaded). Skips apt when all are present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      libsimgrid-dev libboost-graph-dev libeigen3-dev libyaml-cpp-dev libcli11-dev
      nlohmann-json3-dev googletest libgtest-dev libgmock-dev libbenchmark-dev
      openmpi-bin libopenmpi-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present" >&2
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get needs it), or install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
