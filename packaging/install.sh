#!/bin/sh
# Steward's headless installer: installs the `steward` package (deb or rpm), points the updater
# at a controller, stores the enrollment token and root of trust, and starts the service.
# Idempotent: running it again with the same arguments changes nothing.
#
#   install.sh --controller URL --enroll-token TOKEN [--ca-file FILE] [--root FILE]
#              [--channel NAME] [--package FILE [--sha256 HEX]]
#   install.sh --uninstall
set -eu

usage() {
  cat <<USAGE
usage: install.sh --controller URL --enroll-token TOKEN [--ca-file FILE] [--root FILE]
                  [--channel NAME] [--package FILE [--sha256 HEX]]
       install.sh --uninstall

  --controller URL      controller the updater checks in with (https://, or http:// on loopback)
  --enroll-token TOKEN  enrollment token issued by the controller's operator
  --ca-file FILE        the fleet's CA certificate (ca.pem of stewardctl tls init), for a
                        controller whose certificate is not from a public CA
  --root FILE           root of trust (root.json) with its .minisig files beside it
  --channel NAME        release channel for every component (default: as configured)
  --package FILE        install this .deb or .rpm instead of the repository's package
  --sha256 HEX          expected SHA-256 of --package; installation stops on a mismatch
  --uninstall           remove the steward package (configuration and state are kept)
USAGE
}

die() {
  echo "install.sh: $*" >&2
  exit "${2:-1}"
}
usage_error() {
  echo "install.sh: $*" >&2
  echo "Run install.sh --help for usage." >&2
  exit 64
}

controller="" token="" ca_file="" root="" channel="" package="" sha256="" uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --controller | --enroll-token | --ca-file | --root | --channel | --package | --sha256)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi
      case "$1" in
        --controller) controller=$2 ;;
        --enroll-token) token=$2 ;;
        --ca-file) ca_file=$2 ;;
        --root) root=$2 ;;
        --channel) channel=$2 ;;
        --package) package=$2 ;;
        --sha256) sha256=$2 ;;
      esac
      shift 2
      ;;
    --uninstall) uninstall=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

# Where the files go; tests point this at a scratch root.
etc=${STEWARD_ETC:-/etc/steward}

if command -v dpkg >/dev/null 2>&1 && [ -f /etc/debian_version ]; then
  family=deb
elif command -v rpm >/dev/null 2>&1; then
  family=rpm
else
  die "neither dpkg (Debian/Ubuntu) nor rpm (RHEL/Fedora/SUSE) found: unsupported system"
fi

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0 ...)" 77
}

if [ "$uninstall" -eq 1 ]; then
  need_root
  if [ "$family" = deb ]; then
    if dpkg-query -W -f='${Status}' steward 2>/dev/null | grep -q 'install ok installed'; then
      DEBIAN_FRONTEND=noninteractive apt-get remove -y -q steward
    fi
  elif rpm -q steward >/dev/null 2>&1; then
    rpm -e steward
  fi
  echo "install.sh: steward removed (configuration and state kept in $etc and /var/lib/steward)"
  exit 0
fi

[ -n "$controller" ] || usage_error "--controller URL is required"
[ -n "$token" ] || usage_error "--enroll-token TOKEN is required"
case "$controller" in
  https://*) ;;
  http://127.* | http://localhost* | http://\[::1\]*) ;;
  *) usage_error "--controller must be an https:// URL (http:// only on loopback), got '$controller'" ;;
esac
case "$controller" in
  *\"* | *\\* | *' '*) usage_error "--controller contains a quote, backslash or space" ;;
esac
if [ -n "$channel" ] && ! printf '%s' "$channel" | grep -Eq '^[a-z0-9][a-z0-9_-]{0,63}$'; then
  usage_error "--channel must be 1-64 characters of a-z, 0-9, '-', '_'"
fi
if [ -n "$root" ] && [ ! -r "$root" ]; then
  usage_error "--root $root is not a readable file"
fi
if [ -n "$ca_file" ]; then
  [ -r "$ca_file" ] || usage_error "--ca-file $ca_file is not a readable file"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_file" ||
    usage_error "--ca-file $ca_file holds no PEM certificate (give the fleet's ca.pem)"
fi
if [ -n "$sha256" ] && [ -z "$package" ]; then
  usage_error "--sha256 needs --package"
fi

if [ -n "$package" ]; then
  [ -r "$package" ] || usage_error "--package $package is not a readable file"
  if [ -n "$sha256" ]; then
    actual=$(sha256sum "$package" | cut -d' ' -f1)
    [ "$actual" = "$(printf '%s' "$sha256" | tr 'A-F' 'a-f')" ] ||
      die "$package has SHA-256 $actual, expected $sha256: refusing to install it" 65
  fi
  case "$family:$package" in
    deb:*.deb) ;;
    rpm:*.rpm) ;;
    *) usage_error "--package $package does not match this system's package format ($family)" ;;
  esac
fi

need_root

# 1. The package. Configuration files are kept as they are on upgrades.
if [ "$family" = deb ]; then
  export DEBIAN_FRONTEND=noninteractive
  if [ -n "$package" ]; then
    apt-get install -y -q -o Dpkg::Options::=--force-confold "$(cd "$(dirname "$package")" && pwd)/$(basename "$package")"
  else
    apt-get install -y -q -o Dpkg::Options::=--force-confold steward
  fi
else
  if [ -n "$package" ]; then
    name=$(rpm -qp --qf '%{NAME}-%{VERSION}-%{RELEASE}' "$package")
    rpm -q "$name" >/dev/null 2>&1 || rpm -Uvh "$package"
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y steward
  else
    yum install -y steward
  fi
fi

# 2. Configuration: controller URL, channel, token, root of trust.
config="$etc/updater.toml"
[ -f "$config" ] || die "$config is missing after installing the package"
tmp=$(mktemp "$etc/.updater.toml.XXXXXX")
trap 'rm -f "$tmp"' EXIT
sed -e "s|^urls = \\[.*\\]|urls = [\"$controller\"]|" "$config" >"$tmp"
if [ -n "$channel" ]; then
  sed -i -e "s|^channel = \"[^\"]*\"|channel = \"$channel\"|" "$tmp"
fi
if [ -n "$ca_file" ]; then
  sed -i -e "s|^ca_file = \"[^\"]*\"|ca_file = \"$etc/ca.pem\"|" "$tmp"
fi
if cmp -s "$tmp" "$config"; then
  rm -f "$tmp"
else
  chmod 0644 "$tmp"
  mv "$tmp" "$config"
fi
trap - EXIT

umask 077
if [ ! -f "$etc/enroll-token" ] || [ "$(cat "$etc/enroll-token")" != "$token" ]; then
  printf '%s\n' "$token" >"$etc/enroll-token.new"
  mv "$etc/enroll-token.new" "$etc/enroll-token"
fi
umask 022
if [ -n "$ca_file" ] && ! cmp -s "$ca_file" "$etc/ca.pem"; then
  cp "$ca_file" "$etc/ca.pem.new"
  mv "$etc/ca.pem.new" "$etc/ca.pem"
fi
if [ -n "$root" ]; then
  dir=$(dirname "$root")
  base=$(basename "$root")
  cp "$root" "$etc/root.json"
  for sig in "$dir/$base".*.minisig; do
    [ -e "$sig" ] || continue
    cp "$sig" "$etc/root.json.${sig#"$dir/$base".}"
  done
fi

# 3. The service.
if [ -d /run/systemd/system ]; then
  systemctl enable steward-updater.service >/dev/null 2>&1 || true
  systemctl restart steward-updater.service
  echo "install.sh: steward-updater is running; see: steward-updater status"
else
  echo "install.sh: installed; systemd is not running here, start: steward-updater run --config $config"
fi
