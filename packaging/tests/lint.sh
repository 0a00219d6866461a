#!/usr/bin/env bash
# Builds the deb and rpm packages from a build tree and lints them: lintian and rpmlint must
# report nothing beyond the documented overrides, and the packages must hold what they promise.
# Usage: lint.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -B "$out" -G "DEB;RPM" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log"; exit 1; }
fail=0
shopt -s nullglob
debs=("$out"/*.deb)
rpms=("$out"/*.rpm)
[ ${#debs[@]} -eq 2 ] || { echo "FAIL expected 2 .deb packages, got ${#debs[@]}"; exit 1; }
[ ${#rpms[@]} -eq 2 ] || { echo "FAIL expected 2 .rpm packages, got ${#rpms[@]}"; exit 1; }

findings=$(lintian --tag-display-limit 0 "${debs[@]}" 2>&1 | grep -E '^[EW]: ' || true)
if [ -n "$findings" ]; then
  echo "FAIL lintian:"
  echo "$findings"
  fail=1
fi

rpmlint_out=$(rpmlint -c "$src/packaging/rpm/rpmlintrc.toml" "${rpms[@]}" 2>&1 || true)
if ! grep -q ' 0 errors, 0 warnings' <<<"$rpmlint_out"; then
  echo "FAIL rpmlint:"
  echo "$rpmlint_out"
  fail=1
fi

deb=$(ls "$out"/steward_*.deb)
listing=$(dpkg-deb -c "$deb")
expect_in_deb() {
  grep -q " \./$1\$" <<<"$listing" || { echo "FAIL $1 missing from $(basename "$deb")"; fail=1; }
}
for f in usr/bin/steward-updater usr/bin/steward-agent usr/bin/stewardctl \
         etc/steward/updater.toml etc/steward/agent.toml \
         usr/lib/systemd/system/steward-updater.service usr/share/doc/steward/copyright; do
  expect_in_deb "$f"
done
ctrl=$(mktemp -d)
dpkg-deb -e "$deb" "$ctrl"
diff <(sort "$ctrl/conffiles") <(printf '/etc/steward/agent.toml\n/etc/steward/updater.toml\n') ||
  { echo "FAIL conffiles"; fail=1; }
rm -rf "$ctrl"
rpm_config=$(rpm -qpc "$out"/steward-[0-9]*.rpm | sort | tr '\n' ' ')
[ "$rpm_config" = "/etc/steward/agent.toml /etc/steward/updater.toml " ] ||
  { echo "FAIL rpm %config files: $rpm_config"; fail=1; }
# Both package formats run the same scripts.
scripts=$(rpm -qp --scripts "$out"/steward-[0-9]*.rpm)
grep -q 'useradd --system' <<<"$scripts" ||
  { echo "FAIL rpm %post does not create the steward user"; fail=1; }

echo "lintian: ${#debs[@]} debs, rpmlint: ${#rpms[@]} rpms"
exit $fail
