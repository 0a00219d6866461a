#!/usr/bin/env bash
# `make bench`: runs every benchmark in bench/ and prints one table. A benchmark is a program
# bench_<name> (from bench/<name>.cpp) or a script bench/<name>.sh; it prints result lines
#   BENCH<TAB>figure<TAB>value<TAB>baseline<TAB>ratio<TAB>goal
# and anything else it likes. Each benchmark also runs alone: bench/<name>.sh BUILD_DIR.
set -euo pipefail
build=${1:-build}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
shopt -s nullglob
for b in "$build"/bin/bench_* bench/*.sh; do
  echo "== $(basename "$b")"
  if [[ $b == *.sh ]]; then "$b" "$build"; else "$b"; fi | tee -a "$results"
done
echo
printf '%-44s %16s %16s %8s %s\n' figure value baseline ratio goal
grep -P '^BENCH\t' "$results" | while IFS=$'\t' read -r _ figure value baseline ratio goal; do
  printf '%-44s %16s %16s %8s %s\n' "$figure" "$value" "$baseline" "$ratio" "$goal"
done
