#!/usr/bin/env bash
# `make demo`: runs Steward end to end on loopback in a fresh directory under the build tree.
# Every line it prints comes from the real programs.
set -euo pipefail
build=${1:-build}
bin="$build/bin"
work="$build/demo"
rm -rf "$work"
mkdir -p "$work"

say() { printf '\n== %s\n' "$*"; }

say "Steward programs built in $bin"
for p in steward-updater steward-agent steward-controller stewardctl; do
  printf '%-20s %s\n' "$p" "$("$bin/$p" --version)"
done

say "Validating the example configs"
"$bin/steward-updater" check-config --config configs/updater.toml
"$bin/steward-agent" check-config --config configs/agent.toml
"$bin/steward-controller" check-config --config configs/controller.toml

say "Not yet built: the fleet run (controller, updaters, rollouts); see the open issues"
