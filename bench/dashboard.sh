#!/usr/bin/env bash
# The dashboard at fleet scale: the browser test's fleet grown to DASHBOARD_NODES (default
# 100 000) nodes in the store, then the admin API's page times and the fleet page's load time in
# headless Chromium, as BENCH lines. Usage: bench/dashboard.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
exec /usr/bin/python3 "$src/tests/browser/dashboard_test.py" "$build/bin" "$build" \
  --bench "${DASHBOARD_NODES:-100000}"
