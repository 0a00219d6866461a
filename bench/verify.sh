#!/usr/bin/env bash
# Verifying a prehashed (ED) minisign signature over a 1 GiB file, side by side in one run:
# `stewardctl verify` against `minisign -V` (the goal: no slower) and `b2sum` (the hashing floor),
# with each tool's peak memory (constant memory: a few MiB whatever the file size).
# Usage: bench/verify.sh BUILD_DIR [SIZE_MIB]. Best of 5 interleaved runs, file in page cache.
set -euo pipefail
build=${1:-build}
size_mib=${2:-1024}
ctl="$build/bin/stewardctl"
for tool in "$ctl" /usr/bin/minisign /usr/bin/b2sum /usr/bin/time; do
  [[ -x $tool ]] || { echo "verify bench: $tool missing"; exit 1; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$dir/file"
"$ctl" key generate -p "$dir/k.pub" -s "$dir/k.key" --no-password > /dev/null
"$ctl" sign -s "$dir/k.key" -x "$dir/file.minisig" "$dir/file" > /dev/null
cat "$dir/file" > /dev/null  # warm the page cache for every tool alike

# Prints "cpu_seconds peak_kib wall_seconds" for one run; fails if the tool fails. CPU time
# (user + system) is the figure compared: on a shared machine wall time mostly measures the
# neighbours.
measure() {
  /usr/bin/time -f '%U %S %M %e' -o "$dir/t" "$@" > /dev/null
  awk '{ printf "%.2f %d %.2f\n", $1 + $2, $3, $4 }' "$dir/t"
}
best() { sort -n | head -1; }
: > "$dir/ours"; : > "$dir/minisign"; : > "$dir/b2sum"
for _ in 1 2 3 4 5; do
  measure "$ctl" verify -q -p "$dir/k.pub" -x "$dir/file.minisig" "$dir/file" >> "$dir/ours"
  measure /usr/bin/minisign -Vq -p "$dir/k.pub" -x "$dir/file.minisig" -m "$dir/file" >> "$dir/minisign"
  measure /usr/bin/b2sum "$dir/file" >> "$dir/b2sum"
done
ours_s=$(cut -d' ' -f1 "$dir/ours" | best)
ms_s=$(cut -d' ' -f1 "$dir/minisign" | best)
b2_s=$(cut -d' ' -f1 "$dir/b2sum" | best)
ours_wall=$(cut -d' ' -f3 "$dir/ours" | best)
ms_wall=$(cut -d' ' -f3 "$dir/minisign" | best)
ours_mb=$(cut -d' ' -f2 "$dir/ours" | sort -n | tail -1)
ms_mb=$(cut -d' ' -f2 "$dir/minisign" | sort -n | tail -1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "file ${size_mib} MiB; CPU seconds (best of 5): stewardctl ${ours_s}, minisign -V ${ms_s}, b2sum ${b2_s}"
printf 'BENCH\t%s\t%s\t%s\t%s\t%s\n' "verify ED ${size_mib}MiB cpu s vs minisign -V" "$ours_s" "$ms_s" \
  "$(ratio "$ours_s" "$ms_s")" "ratio <= 1.00"
printf 'BENCH\t%s\t%s\t%s\t%s\t%s\n' "verify ED ${size_mib}MiB wall s vs minisign -V" "$ours_wall" \
  "$ms_wall" "$(ratio "$ours_wall" "$ms_wall")" "ratio <= 1.00"
printf 'BENCH\t%s\t%s\t%s\t%s\t%s\n' "verify ED ${size_mib}MiB cpu s vs b2sum" "$ours_s" "$b2_s" \
  "$(ratio "$ours_s" "$b2_s")" "info (hashing floor)"
printf 'BENCH\t%s\t%s\t%s\t%s\t%s\n' "verify ED ${size_mib}MiB peak RSS MiB vs minisign" \
  "$(mib "$ours_mb")" "$(mib "$ms_mb")" "$(ratio "$ours_mb" "$ms_mb")" "constant, < 16 MiB"
