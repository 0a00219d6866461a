#!/usr/bin/env bash
# Runs each libFuzzer target for $2 seconds (default 15) on its seed corpus, fuzzers built in
# $1 (default build/fuzz). Exit 77 (skipped) when no fuzzer could be built; 1 on a finding,
# with the crashing input left in $1/findings/.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/fuzz}
seconds=${2:-15}
"$src/build.sh" "$out"
if [[ ! -f $out/.clang ]]; then
  echo "SKIPPED: fuzzers need clang 16 or newer"
  exit 77
fi
mkdir -p "$out/findings"
status=0
for target in signature key root manifest protocol config host patch; do
  corpus="$out/corpus/$target"
  mkdir -p "$corpus"
  echo "== fuzz_$target for ${seconds}s"
  if ! "$out/fuzz_$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="$out/findings/$target-" -print_final_stats=1 \
      "$corpus" "$src/corpus/$target" 2>"$out/fuzz_$target.log"; then
    echo "FAILED: fuzz_$target found a problem; see $out/fuzz_$target.log and $out/findings/"
    tail -40 "$out/fuzz_$target.log"
    status=1
  else
    grep -E 'stat::number_of_executed_units|stat::new_units_added' "$out/fuzz_$target.log" || true
  fi
done
exit $status
