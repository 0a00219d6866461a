#!/usr/bin/env bash
# Benchmark (a): steward-updater's idle footprint while it supervises one running component:
# resident memory and CPU time over BENCH_IDLE_SECONDS (default 60). Baseline, side by side: a
# shell loop `while :; do child; done` supervising the same child, the least a supervisor can be.
#   bench/supervision_idle.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
secs=${BENCH_IDLE_SECONDS:-60}
dir=$(mktemp -d /tmp/steward-bench-XXXXXX)
upid=""
bpid=""
cleanup() {
  [[ -n $upid ]] && kill -TERM "$upid" 2>/dev/null && wait "$upid" 2>/dev/null || true
  if [[ -n $bpid ]]; then
    kids=$(ps -o pid= --ppid "$bpid" || true)
    kill -KILL "$bpid" 2>/dev/null || true
    for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/updater.toml" <<TOML
state_dir = "$dir/state"
socket = "$dir/run/updater.sock"
[[component]]
name = "sleeper"
exec = "/bin/sleep"
args = ["100000"]
readiness = "none"
TOML
"$build/bin/steward-updater" run --config "$dir/updater.toml" >"$dir/log" 2>&1 &
upid=$!
sh -c 'while :; do /bin/sleep 100000; done' &
bpid=$!
disown "$bpid"
for _ in $(seq 100); do
  "$build/bin/steward-updater" status --json --socket "$dir/run/updater.sock" 2>/dev/null |
    grep -q '"state": "running"' && break
  sleep 0.1
done
sleep 1  # let start-up work settle; what is measured is idling

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
anon_kib() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
u0=$(ticks "$upid")
b0=$(ticks "$bpid")
sleep "$secs"
u1=$(ticks "$upid")
b1=$(ticks "$bpid")
urss=$(rss_kib "$upid")
brss=$(rss_kib "$bpid")
upss=$(pss_kib "$upid")
bpss=$(pss_kib "$bpid")
uanon=$(anon_kib "$upid")
banon=$(anon_kib "$bpid")
hz=$(getconf CLK_TCK)

awk -v u0="$u0" -v u1="$u1" -v b0="$b0" -v b1="$b1" -v ur="$urss" -v br="$brss" \
  -v hz="$hz" -v s="$secs" -v up="$upss" -v bp="$bpss" -v ua="$uanon" -v ba="$banon" 'BEGIN {
  ucpu = (u1 - u0) / hz * 60 / s; bcpu = (b1 - b0) / hz * 60 / s
  umib = ur / 1024; bmib = br / 1024
  printf "BENCH\tupdater idle RSS, 1 component (MiB)\t%.2f\t%.2f\t%.2f\t<= 10 MiB\n", umib, bmib, (bmib > 0 ? umib / bmib : 0)
  # RSS counts every touched page of shared libraries (libcurl, loaded on the first request, is not
  # among them here: no controller); PSS shares those pages out, anonymous RSS is what the updater
  # itself allocated.
  printf "BENCH\tupdater idle PSS, 1 component (MiB)\t%.2f\t%.2f\t%.2f\t-\n", up / 1024, bp / 1024, (bp > 0 ? up / bp : 0)
  printf "BENCH\tupdater idle anonymous RSS (MiB)\t%.2f\t%.2f\t%.2f\t-\n", ua / 1024, ba / 1024, (ba > 0 ? ua / ba : 0)
  printf "BENCH\tupdater idle CPU (s per minute)\t%.3f\t%.3f\t%s\t<= 0.1 s/min\n", ucpu, bcpu, (bcpu > 0 ? sprintf("%.2f", ucpu / bcpu) : "n/a")
}'
