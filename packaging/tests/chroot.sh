#!/usr/bin/env bash
# Installs, upgrades, removes and purges the packages in a fresh Debian bookworm root made with
# debootstrap (cached as a tarball after the first run), the way an operator would:
#   install (files, user, directories), install.sh (idempotent), the updater starts from the
#   installed files and answers `status`, upgrade to a newer package keeps a changed conffile,
#   remove keeps config and state, purge removes them; the rpm's scripts run the same steps.
# Usage: chroot.sh PACKAGE_DIR   (needs root)
set -euo pipefail
pkgdir=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${STEWARD_CHROOT_CACHE:-$pkgdir/bookworm-minbase.tar}
[ "$(id -u)" -eq 0 ] || { echo "chroot.sh: needs root (debootstrap, chroot, mount)"; exit 77; }

deb=$(ls "$pkgdir"/steward_*.deb)
rpmfile=$(ls "$pkgdir"/steward-[0-9]*.rpm)

if [ ! -f "$cache" ]; then
  # The mirror this machine's apt already uses.
  mirror=$(grep -h -m1 -oP '^URIs:\s*\K\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)
  [ -n "$mirror" ] || mirror=$(grep -h -m1 -oP '^deb\s+\K\S+' /etc/apt/sources.list | head -n1)
  fresh=$(mktemp -d)
  echo "chroot.sh: debootstrap bookworm from $mirror (once; cached in $cache)"
  debootstrap --variant=minbase bookworm "$fresh" "$mirror" >"$fresh.log" 2>&1 ||
    { tail -20 "$fresh.log"; exit 1; }
  tar -C "$fresh" -cf "$cache" .
  rm -rf "$fresh" "$fresh.log"
fi

root=""
cleanup() {
  [ -n "$root" ] || return 0
  # Processes started inside the root, then its mounts, then the root.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  umount -l "$root/proc" "$root/dev" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

fresh_root() {
  cleanup
  root=$(mktemp -d)
  tar -C "$root" -xf "$cache"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  cp "$deb" "$rpmfile" "$root/tmp/"
}
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
# check WHAT COMMAND...: runs COMMAND quietly; on failure shows its output and stops.
check() {
  local what=$1 log
  shift
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    fail "$what"
  fi
  rm -f "$log"
  echo "ok: $what"
}

fresh_root
in_root apt-get update -qq
check "install the deb with its dependencies" \
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "/tmp/$(basename "$deb")"
check "binaries installed and runnable" in_root steward-updater --version
check "steward user created" in_root getent passwd steward
check "agent state dir owned by steward" \
  test "$(in_root stat -c %U /var/lib/steward-agent)" = steward
check "updater unit installed" test -f "$root/usr/lib/systemd/system/steward-updater.service"

# install.sh: with the package given and its checksum, twice; the second run changes nothing.
printf '{}' >"$root/tmp/root.json"
sum=$(sha256sum "$deb" | cut -d' ' -f1)
cp "$src/packaging/install.sh" "$root/tmp/install.sh"
run_install() {
  in_root sh /tmp/install.sh --package "/tmp/$(basename "$deb")" --sha256 "$sum" \
    --controller http://127.0.0.1:9 --enroll-token secret-token --root /tmp/root.json --channel beta
}
check "install.sh configures the updater" run_install
check "controller URL written" grep -q '^urls = \["http://127.0.0.1:9"\]' "$root/etc/steward/updater.toml"
check "channel written" grep -q '^channel = "beta"' "$root/etc/steward/updater.toml"
check "enroll token private" test "$(stat -c %a "$root/etc/steward/enroll-token")" = 600
before=$(cd "$root/etc/steward" && sha256sum ./* | sort)
check "install.sh again" run_install
after=$(cd "$root/etc/steward" && sha256sum ./* | sort)
check "install.sh is idempotent" test "$before" = "$after"

# The updater starts from the installed files and answers on its local API.
mkdir -p "$root/run/steward"
chroot "$root" /usr/bin/steward-updater run --config /etc/steward/updater.toml \
  >"$root/tmp/updater.log" 2>&1 &
updater=$!
answered=0
for _ in $(seq 1 100); do
  if in_root steward-updater status >/dev/null 2>&1; then answered=1; break; fi
  kill -0 "$updater" 2>/dev/null || break
  sleep 0.1
done
[ "$answered" -eq 1 ] || { cat "$root/tmp/updater.log"; fail "updater answers status"; }
echo "ok: updater answers status"
kill -TERM "$updater"
wait "$updater" || fail "updater exits 0 on SIGTERM"
echo "ok: updater exits 0 on SIGTERM"

# Upgrade to a newer package whose packaged updater.toml changed: the operator's copy stays.
echo "# operator's change" >>"$root/etc/steward/updater.toml"
mine=$(sha256sum <"$root/etc/steward/updater.toml")
work=$(mktemp -d)
dpkg-deb -R "$deb" "$work/pkg"
sed -i 's/^Version: .*/&+upgrade1/' "$work/pkg/DEBIAN/control"
echo "# changed in the newer package" >>"$work/pkg/etc/steward/updater.toml"
(cd "$work/pkg" && find etc usr -type f -exec md5sum {} + >DEBIAN/md5sums)
dpkg-deb -b "$work/pkg" "$root/tmp/steward-upgrade.deb"
rm -rf "$work"
check "upgrade to the newer package" in_root env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq -o Dpkg::Options::=--force-confold /tmp/steward-upgrade.deb
check "upgraded version installed" \
  sh -c "chroot '$root' dpkg-query -W -f='\${Version}' steward | grep -q upgrade1"
check "conffile kept on upgrade" test "$(sha256sum <"$root/etc/steward/updater.toml")" = "$mine"
check "state kept on upgrade" test -d "$root/var/lib/steward-agent"

check "remove" in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq steward
check "binaries gone after remove" test ! -e "$root/usr/bin/steward-updater"
check "config kept after remove" test -f "$root/etc/steward/updater.toml"
check "state kept after remove" test -d "$root/var/lib/steward"
check "purge" in_root dpkg --purge steward
check "config gone after purge" test ! -e "$root/etc/steward/updater.toml"
check "state gone after purge" test ! -e "$root/var/lib/steward"

# The rpm's scripts, run by rpm itself inside a fresh root: install (1), upgrade (2), erase (0).
fresh_root
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm passwd
check "rpm install runs %post" in_root rpm -i --nodeps "/tmp/$(basename "$rpmfile")"
check "rpm %post created the steward user" in_root getent passwd steward
check "rpm upgrade (same files, --replacepkgs)" \
  in_root rpm -U --nodeps --replacepkgs "/tmp/$(basename "$rpmfile")"
check "rpm erase runs %preun/%postun" in_root rpm -e --nodeps steward
check "rpm erase keeps state" test -d "$root/var/lib/steward"
echo "chroot.sh: all checks passed"
