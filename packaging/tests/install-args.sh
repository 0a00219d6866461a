#!/usr/bin/env bash
# install.sh refuses missing or bad input with a clear message and a non-zero exit, before it
# installs anything.
# Usage: install-args.sh SOURCE_DIR
set -uo pipefail
script="$1/packaging/install.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect EXIT_CODE MESSAGE_PART ARGS...
expect() {
  local code=$1 part=$2
  shift 2
  local out rc
  out=$(STEWARD_ETC="$tmp/etc" sh "$script" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -qF -- "$part" <<<"$out"; then
    echo "FAIL install.sh $*: exit $rc, output: $out (wanted exit $code and '$part')"
    fail=1
  fi
}

echo "not a package" >"$tmp/steward.deb"
expect 0 "usage: install.sh" --help
expect 64 "--controller URL is required" --enroll-token t
expect 64 "--enroll-token TOKEN is required" --controller https://c.example
expect 64 "needs a value" --controller
expect 64 "unknown argument '--frobnicate'" --frobnicate
expect 64 "must be an https:// URL" --controller http://c.example --enroll-token t
expect 64 "--channel must be" --controller https://c.example --enroll-token t --channel 'Bad Channel'
expect 64 "is not a readable file" --controller https://c.example --enroll-token t --root "$tmp/none.json"
expect 64 "is not a readable file" --controller https://c.example --enroll-token t --ca-file "$tmp/none.pem"
expect 64 "holds no PEM certificate" --controller https://c.example --enroll-token t --ca-file "$tmp/steward.deb"
expect 64 "--sha256 needs --package" --controller https://c.example --enroll-token t --sha256 00
expect 64 "is not a readable file" --controller https://c.example --enroll-token t --package "$tmp/none.deb"
expect 65 "refusing to install it" --controller https://c.example --enroll-token t \
  --package "$tmp/steward.deb" --sha256 0000000000000000000000000000000000000000000000000000000000000000
[ ! -e "$tmp/etc" ] || { echo "FAIL install.sh wrote files while refusing"; fail=1; }
[ $fail -eq 0 ] && echo "install.sh: all refusals as expected"
exit $fail
