#!/usr/bin/env bash
# `make demo`: runs Steward end to end on loopback, in a fresh directory
# under the build tree. Every line it prints comes from the real programs; nothing is faked.
#   KEEP=1 leaves everything running and prints how to look at it.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
bin="$build/bin"
work="$build/demo"
keep=${KEEP:-0}
start=$(date +%s%N)

pids=()
cleanup() {
  [ "$keep" = 1 ] && return 0
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

step() {
  local ms=$((($(date +%s%N) - start) / 1000000))
  printf '\n[%3d.%02ds] == %s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$*"
}
run() { printf '$ %s\n' "$*" | sed "s|$work/||g; s|$bin/||g"; "$@"; }
# Waits up to 20 s for a line matching $2 in file $1 and prints it.
wait_log() {
  local file=$1 pattern=$2
  for _ in $(seq 1 200); do
    if grep -m1 -E "$pattern" "$file" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "demo: timed out waiting for '$pattern' in $file" >&2
  return 1
}
# Host $1's status as one line of JSON (keys sorted: a component's "state" follows its
# "running_version").
status_line() {
  "$bin/steward-updater" status --json --socket "$work/host$1/api.sock" 2>/dev/null | tr -d ' \n'
}
# Waits up to 20 s until host $1's status matches the grep pattern $2.
wait_status() {
  for _ in $(seq 1 200); do
    if status_line "$1" | grep -qE "$2"; then return 0; fi
    sleep 0.1
  done
  echo "demo: host$1 never reached: $2" >&2
  return 1
}

running='"running_version":[^,]*,"state":"running"'
stopped='"running_version":[^,]*,"state":"stopped"'
# An update to version $1 that passed its health gate.
committed() { echo '"result":"committed","state":"committed",("superseded":[^,]*,)?"to":"'"$1"'"'; }

rm -rf "$work"
mkdir -p "$work"
cd "$work"

step "Operators' keys: one offline root key, two release keys (threshold 2)"
for k in root1 rel1 rel2; do
  run "$bin/stewardctl" key generate -p "$work/$k.pub" -s "$work/$k.key" --no-password
done
run "$bin/stewardctl" root init --root-key "root1=$work/root1.pub" --root-threshold 1 \
  --release-key "rel1=$work/rel1.pub" --release-key "rel2=$work/rel2.pub" --release-threshold 2 \
  --expires 365d -o "$work/root.json"
run "$bin/stewardctl" sign -s "$work/root1.key" --label root1 "$work/root.json"
step "The signature is plain minisign: the minisign tool verifies it"
run minisign -V -p "$work/root1.pub" -m "$work/root.json" -x "$work/root.json.root1.minisig"

step "A CA for the fleet and the controller's certificate (for localhost and 127.0.0.1)"
run "$bin/stewardctl" tls init --dir "$work/pki" --name localhost --ip 127.0.0.1

step "Controller on loopback over HTTPS, with its SQLite store"
mkdir -p "$work/controller/blobs"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/admin-token"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/enroll-token"
cat >"$work/controller.toml" <<TOML
listen = "127.0.0.1:0"
store = "sqlite:$work/controller/controller.db"
root = "$work/root.json"
admin_token_file = "$work/admin-token"
enroll_token_file = "$work/enroll-token"
blob_dir = "$work/controller/blobs"
tls_cert_file = "$work/pki/controller.pem"
tls_key_file = "$work/pki/controller.key"
artifact_ca_file = "$work/pki/ca.pem"
checkin_interval = "1s"
[rollout]
halt_min_attempts = 1
TOML
"$bin/steward-controller" serve --config "$work/controller.toml" >"$work/controller.log" 2>&1 &
pids+=($!)
line=$(wait_log "$work/controller.log" "listening on")
url=$(sed -E 's/.*public_url=([^ ]+).*/\1/' <<<"$line")
echo "controller at $url"
export STEWARD_CONTROLLER=$url STEWARD_TOKEN STEWARD_CA_FILE=$work/pki/ca.pem
STEWARD_TOKEN=$(cat "$work/admin-token")

step "Agent releases 1.0.0, 1.1.0 and 1.2.0: distinct binaries, signed by both release keys"
platform=linux-$(uname -m)
seq=0
for v in 1.0.0 1.1.0 1.2.0; do
  seq=$((seq + 1))
  art="$bin/releases/$v/steward-agent"
  sha=$(sha256sum "$art" | cut -d' ' -f1)
  cp "$art" "$work/controller/blobs/$sha"
  printf '%s --version: %s\n' "releases/$v/steward-agent" "$("$art" --version)"
  run "$bin/stewardctl" release create --component agent --channel stable --version "$v" \
    --sequence "$seq" --artifact "$platform=$art" --url "$platform=$url/v1/artifacts/$sha" \
    --expires 30d -o "$work/agent-$v.json"
  for k in rel1 rel2; do
    "$bin/stewardctl" sign -s "$work/$k.key" --label "$k" "$work/agent-$v.json"
  done
  run "$bin/stewardctl" release verify --root "$work/root.json" "$work/agent-$v.json" \
    "$work/agent-$v.json.rel1.minisig" "$work/agent-$v.json.rel2.minisig"
done

step "Publishing: the controller checks signatures, threshold, expiry and each artifact URL"
for v in 1.0.0 1.1.0 1.2.0; do run "$bin/stewardctl" release publish "$work/agent-$v.json"; done
step "A release signed by one release key only is refused (threshold 2)"
cp "$work/agent-1.1.0.json" "$work/forged.json"
cp "$work/agent-1.1.0.json.rel1.minisig" "$work/forged.json.rel1.minisig"
run "$bin/stewardctl" release publish "$work/forged.json" || echo "(refused, as it must be)"
run "$bin/stewardctl" release list

step "Rollout: every node on channel stable gets 1.0.0"
run "$bin/stewardctl" rollout set --component agent --channel stable --version 1.0.0 --percent 100

step "Three hosts: each a steward-updater with its own state; they enroll and install 1.0.0"
echo "(each agent config arms the test-only failure 'crash at start' for version 1.2.0: the"
echo " broken release of step 6 is the same agent code built as 1.2.0)"
for h in 1 2 3; do
  mkdir -p "$work/host$h"
  cat >"$work/host$h/agent.toml" <<TOML
listen = "127.0.0.1:0"
state_dir = "$work/host$h/agent-state"
flags_file = "$work/host$h/state/flags.json"
test_fail = "crash"
test_fail_versions = ["1.2.0"]
TOML
  cat >"$work/host$h/updater.toml" <<TOML
state_dir = "$work/host$h/state"
socket = "$work/host$h/api.sock"
[controller]
urls = ["$url"]
enroll_token_file = "$work/enroll-token"
ca_file = "$work/pki/ca.pem"
[trust]
root = "$work/root.json"
[[component]]
name = "agent"
binary = "steward-agent"
args = ["run", "--config", "$work/host$h/agent.toml"]
readiness = "notify"
grace = "3s"
stop_timeout = "5s"
restart_delay = "200ms"
crash_loop_failures = 2
reload_on_flags = true
TOML
  "$bin/steward-updater" run --config "$work/host$h/updater.toml" >"$work/host$h/updater.log" 2>&1 &
  pids+=($!)
done
for h in 1 2 3; do wait_status "$h" "$(committed 1.0.0)"; done
for h in 1 2 3; do echo "host$h:"; "$bin/steward-updater" status --socket "$work/host$h/api.sock"; done
run "$bin/stewardctl" nodes list

step "Host 2's operator stops its agent: a requested stop, not a crash; it stays stopped"
run "$bin/steward-updater" stop agent --socket "$work/host2/api.sock"
wait_status 2 "$stopped"

step "Host 3's agent crashes (SIGSEGV): classified as a crash and restarted"
pid=$(status_line 3 | grep -oE '"pid":[0-9]+' | head -n1 | cut -d: -f2)
run kill -SEGV "$pid"
wait_status 3 '"kind":"crash"'
wait_status 3 "$running"

step "Rollout of 1.1.0 to 34 % of the nodes (a stable hash of each node id picks them)"
run "$bin/stewardctl" rollout set --component agent --channel stable --version 1.1.0 --percent 34
sleep 4  # a few check-ins (every second here)
run "$bin/stewardctl" fleet

step "Rollout of 1.1.0 to 100 %: host 2 is updated too, and stays stopped (unverified)"
run "$bin/stewardctl" rollout set --component agent --channel stable --version 1.1.0 --percent 100
for h in 1 3; do wait_status "$h" "$(committed 1.1.0)"; done
wait_status 2 '"installed_version":"1.1.0"'
for h in 1 2 3; do echo "host$h:"; "$bin/steward-updater" status --socket "$work/host$h/api.sock"; done

step "A feature flag for the whole fleet: updaters write flags.json, running agents reload"
run "$bin/stewardctl" flags set console.embedded=false
for h in 1 2 3; do wait_log "$work/host$h/updater.log" "feature flags changed: .*console.embedded" >/dev/null; done
printf 'host1 flags.json: %s\n' "$(cat "$work/host1/state/flags.json")"
grep -hE "flags|SIGHUP|reload" "$work/host1/updater.log" | grep -v '^.*debug' | tail -n 3 | cut -c1-160

step "Broken 1.2.0 (crashes at start) to a canary share; widened until a host takes it"
canary=""
for pct in 34 67 100; do
  run "$bin/stewardctl" rollout set --component agent --channel stable --version 1.2.0 --percent "$pct"
  for _ in $(seq 1 60); do
    for h in 1 3; do
      if status_line "$h" | grep -q '"to":"1.2.0"'; then canary=$h; fi
    done
    [ -n "$canary" ] && break
    sleep 0.1
  done
  [ -n "$canary" ] && break
done
echo "canary: host$canary"
wait_status "$canary" '"error_code":"health_gate_failed".*"result":"rolled_back"'
"$bin/steward-updater" status --socket "$work/host$canary/api.sock"
step "The canary rolled back by itself and reported it; the rollout halted itself"
for _ in $(seq 1 100); do
  if "$bin/stewardctl" rollout list | grep -q '1.2.0.*halt'; then break; fi
  sleep 0.1
done
run "$bin/stewardctl" rollout list

step "Timeline of host$canary (its updater's log)"
grep -E 'update .* -> .*: |rolled back|verified|release refused' "$work/host$canary/updater.log" |
  sed -E 's/^([0-9-]+T)?//' | cut -c1-160

step "Fleet"
run "$bin/stewardctl" fleet

if [ "$keep" = 1 ]; then
  step "Left running (KEEP=1)"
  echo "controller: $url   (STEWARD_CONTROLLER=$url STEWARD_CA_FILE=$work/pki/ca.pem STEWARD_TOKEN=\$(cat $work/admin-token) $bin/stewardctl fleet)"
  for h in 1 2 3; do echo "host$h: $bin/steward-updater status --socket $work/host$h/api.sock"; done
  echo "logs: $work/*.log $work/host*/updater.log; stop with: kill ${pids[*]}"
else
  step "Stopping everything"
fi
