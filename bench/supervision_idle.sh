#!/usr/bin/env bash
# Benchmark (a): steward-updater's idle footprint while it supervises one running component:
# resident memory and CPU time over BENCH_IDLE_SECONDS (default 60). Baseline, side by side: a
# shell loop `while :; do child; done` supervising the same child, the least a supervisor can be.
# BENCH_CONTROLLER=1: the updater also checks in with a real controller on loopback every
# BENCH_CHECKIN (default 10s); its CPU then includes the HTTP helper processes it started.
# BENCH_HTTP_HELPER=false runs the updater's HTTP requests in its own process instead.
# BENCH_SMAPS=1 also prints the updater's resident KiB per mapping.
#   bench/supervision_idle.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
secs=${BENCH_IDLE_SECONDS:-60}
dir=$(mktemp -d /tmp/steward-bench-XXXXXX)
upid=""
bpid=""
cpid=""
cleanup() {
  for p in $upid $cpid; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [[ -n $bpid ]]; then
    kids=$(ps -o pid= --ppid "$bpid" || true)
    kill -KILL "$bpid" 2>/dev/null || true
    for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

controller=""
if [[ ${BENCH_CONTROLLER:-0} == 1 ]]; then
  ctl=$build/bin/stewardctl
  "$ctl" key generate -p "$dir/root.pub" -s "$dir/root.key" --no-password >/dev/null
  "$ctl" root init --root-key "root=$dir/root.pub" --root-threshold 1 --release-key "root=$dir/root.pub" \
    --release-threshold 1 --expires 30d -o "$dir/root.json" >/dev/null
  "$ctl" sign -s "$dir/root.key" --label root "$dir/root.json" >/dev/null
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/admin-token"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/enroll-token"
  mkdir -p "$dir/blobs"
  cat >"$dir/controller.toml" <<TOML
listen = "127.0.0.1:0"
store = "sqlite:$dir/controller.db"
root = "$dir/root.json"
admin_token_file = "$dir/admin-token"
enroll_token_file = "$dir/enroll-token"
blob_dir = "$dir/blobs"
checkin_interval = "${BENCH_CHECKIN:-10s}"
TOML
  "$build/bin/steward-controller" serve --config "$dir/controller.toml" >"$dir/controller.log" 2>&1 &
  cpid=$!
  for _ in $(seq 100); do grep -q "listening on" "$dir/controller.log" && break; sleep 0.1; done
  addr=$(sed -nE 's/.*listening on ([^ ]+).*/\1/p' "$dir/controller.log" | head -1)
  controller="[controller]
urls = [\"http://$addr\"]
enroll_token_file = \"$dir/enroll-token\"
checkin_interval = \"${BENCH_CHECKIN:-10s}\"
[trust]
root = \"$dir/root.json\""
fi

cat >"$dir/updater.toml" <<TOML
state_dir = "$dir/state"
socket = "$dir/run/updater.sock"
http_helper = ${BENCH_HTTP_HELPER:-true}
$controller
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

# Own CPU and that of reaped children (the HTTP helpers; /bin/sleep uses none).
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
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
if [[ -n ${BENCH_SMAPS:-} ]]; then
  awk '/^[0-9a-f]+-/ {f=$6} /^Rss:/ {r[f]+=$2}
       END {for (k in r) if (r[k] > 100) printf "%6d KiB %s\n", r[k], k}' "/proc/$upid/smaps" | sort -rn
fi
if grep -q libcurl "/proc/$upid/maps"; then curl_mapped=yes; else curl_mapped=no; fi
checkins=$("$build/bin/steward-updater" status --json --socket "$dir/run/updater.sock" |
  tr -d ' \n' | grep -o '"checkin":{[^}]*' | grep -o '"count":[0-9]*' | cut -d: -f2 || true)
echo "updater maps libcurl: $curl_mapped; check-ins: ${checkins:-none}"

awk -v u0="$u0" -v u1="$u1" -v b0="$b0" -v b1="$b1" -v ur="$urss" -v br="$brss" \
  -v hz="$hz" -v s="$secs" -v up="$upss" -v bp="$bpss" -v ua="$uanon" -v ba="$banon" 'BEGIN {
  ucpu = (u1 - u0) / hz * 60 / s; bcpu = (b1 - b0) / hz * 60 / s
  umib = ur / 1024; bmib = br / 1024
  printf "BENCH\tupdater idle RSS, 1 component (MiB)\t%.2f\t%.2f\t%.2f\t<= 10 MiB\n", umib, bmib, (bmib > 0 ? umib / bmib : 0)
  # RSS counts every touched page of shared libraries; PSS shares those pages out, anonymous RSS
  # is what the updater itself allocated. libcurl is not among them with the HTTP helper.
  printf "BENCH\tupdater idle PSS, 1 component (MiB)\t%.2f\t%.2f\t%.2f\t-\n", up / 1024, bp / 1024, (bp > 0 ? up / bp : 0)
  printf "BENCH\tupdater idle anonymous RSS (MiB)\t%.2f\t%.2f\t%.2f\t-\n", ua / 1024, ba / 1024, (ba > 0 ? ua / ba : 0)
  printf "BENCH\tupdater idle CPU (s per minute)\t%.3f\t%.3f\t%s\t<= 0.1 s/min\n", ucpu, bcpu, (bcpu > 0 ? sprintf("%.2f", ucpu / bcpu) : "n/a")
}'
