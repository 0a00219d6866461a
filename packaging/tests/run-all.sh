#!/usr/bin/env bash
# `make package-test`: every packaging check on the packages in PACKAGE_DIR.
set -euo pipefail
pkgdir=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
"$here/static.sh" "$src" "$(cd "$pkgdir" && pwd)/bin"
"$here/lint.sh" "$pkgdir" "$src"
"$here/install-args.sh" "$src"
"$here/chroot.sh" "$pkgdir"
