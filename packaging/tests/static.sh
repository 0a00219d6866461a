#!/usr/bin/env bash
# Static checks of the packaging: shellcheck on every shell script, systemd-analyze verify on
# the units (ExecStart pointed at the built binaries, as the installed paths do not exist here).
# Usage: static.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1
bin=$2
fail=0

mapfile -t scripts < <(cd "$src" && ls packaging/install.sh packaging/scripts/*/* packaging/tests/*.sh tools/*.sh)
for s in "${scripts[@]}"; do
  shell="bash"
  head -n1 "$src/$s" | grep -q "bin/sh$" && shell="sh"
  if ! shellcheck -s "$shell" "$src/$s"; then
    echo "FAIL shellcheck $s"
    fail=1
  fi
done
echo "shellcheck: ${#scripts[@]} scripts"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in "$src"/packaging/systemd/*.service; do
  sed "s|/usr/bin/|$bin/|" "$unit" >"$tmp/$(basename "$unit")"
done
# systemd-analyze exits 0 on unknown keys; any message at all is a finding.
out=$(systemd-analyze verify "$tmp"/*.service 2>&1 || true)
if [ -n "$out" ]; then
  echo "FAIL systemd-analyze verify:"
  echo "$out"
  fail=1
fi
units=("$tmp"/*.service)
echo "systemd-analyze verify: ${#units[@]} units"
exit $fail
