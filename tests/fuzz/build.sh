#!/usr/bin/env bash
# Builds the libFuzzer targets into $1 (default build/fuzz) with clang 16 or newer. Without one,
# says so and exits 0: the fuzz test then reports itself skipped.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/fuzz}
clang=""
for c in clang++-19 clang++-18 clang++-17 clang++-16 clang++; do
  if command -v "$c" >/dev/null 2>&1; then
    major=$("$c" -dumpversion | cut -d. -f1)
    if [[ $major -ge 16 ]]; then clang=$(command -v "$c"); break; fi
  fi
done
if [[ -z $clang ]]; then
  echo "fuzz: no clang 16 or newer found (apt-get install clang-16 libclang-rt-16-dev); fuzzers not built"
  rm -f "$out/.clang"
  exit 0
fi
if [[ ! -f $out/build.ninja ]]; then
  cmake -S "$src" -B "$out" -G Ninja -DCMAKE_CXX_COMPILER="$clang" >/dev/null
fi
# One job: the main build runs beside this one.
cmake --build "$out" -j 1 | grep -v '^ninja: no work to do' || true
test -x "$out/fuzz_manifest"
echo "$clang" > "$out/.clang"
