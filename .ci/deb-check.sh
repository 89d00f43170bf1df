#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Debian package check:
#   1. copies the tree to a scratch directory (dpkg-buildpackage writes its
#      results into the parent directory, which must not be the checkout's),
#   2. builds the packages on this host with `dpkg-buildpackage -us -uc -b`
#      (the symbols file must match exactly),
#   3. unpacks the .debs into a scratch root with `dpkg -x`,
#   4. builds and runs a small C client against that root through pkg-config,
#   5. runs lintian on the .changes and fails on any error or warning.
# With --debs DIR, steps 1 and 2 are skipped and the packages already built
# in DIR (by .ci/deb-chroot.sh, which CI uses) are checked.
#
# Usage: bash .ci/deb-check.sh            (from anywhere; needs the build
#        dependencies of debian/control, lintian and a C compiler)
#        bash .ci/deb-check.sh --debs DIR (needs lintian, pkg-config, cc)
# Environment: DEB_CHECK_JOBS (default 2), DEB_CHECK_KEEP=1 to keep the
# scratch directory, DEB_BUILD_OPTIONS (passed on; e.g. nocheck).
# The copy (.ci/copy-tree.sh) holds the files git knows (tracked and
# untracked, not ignored), or, outside a git checkout, everything but build*/
# and obj-*/ directories.

set -u
set -o pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${DEB_CHECK_JOBS:-2}
debdir=""
if [ "${1:-}" = --debs ]; then
    [ -d "${2:-}" ] || { echo "deb-check: FAIL: --debs needs a directory" >&2; exit 1; }
    debdir=$(cd "$2" && pwd)
fi

die() {
    echo "deb-check: FAIL: $*"
    exit 1
}

for tool in dpkg-buildpackage dpkg-parsechangelog dpkg-architecture dpkg-deb lintian pkg-config; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt install devscripts dpkg-dev lintian pkg-config)"
done
cc=${CC:-cc}

version=$(cd "$srcdir" && dpkg-parsechangelog -S Version) || die "cannot read debian/changelog"
source=$(cd "$srcdir" && dpkg-parsechangelog -S Source)
upstream=${version%-*}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb-check.XXXXXX") || die "mktemp failed"
if [ "${DEB_CHECK_KEEP:-0}" = 1 ]; then
    echo "deb-check: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi

# 1. Scratch copy.
work="$tmp/$source-$upstream"
if [ -z "$debdir" ]; then
    bash "$srcdir/.ci/copy-tree.sh" "$srcdir" "$work" || die "copying the tree failed"
    echo "deb-check: building $source $version in $work"
fi

# 2. Build. Check level 4: the symbols file must list exactly what the
# library exports (a new symbol fails too, so debian/libprocreact0.symbols
# is kept in step with tests/packaging/symbols.txt).
if [ -n "$debdir" ]; then
    cp "$debdir"/*.deb "$debdir"/*.changes "$debdir"/*.buildinfo "$tmp/" || die "no packages in $debdir"
else
    build_opts="parallel=$jobs${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}"
    if ! (cd "$work" && DEB_BUILD_OPTIONS=$build_opts DPKG_GENSYMBOLS_CHECK_LEVEL=4 \
            dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
        tail -n 60 "$tmp/build.log"
        die "dpkg-buildpackage failed (log above)"
    fi
    grep -E '^[0-9]+/[0-9]+ |^(Ok|Fail|Skipped):' "$tmp/build.log" || true
fi
changes="$tmp/${source}_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes"
[ -f "$changes" ] || die "no .changes file"
debs=("$tmp"/*.deb)
echo "deb-check: built: $(cd "$tmp" && ls -- *.deb | tr '\n' ' ')"
for pkg in libprocreact0 libprocreact-dev libprocreact-doc; do
    ls "$tmp/${pkg}_${version}_"*.deb >/dev/null 2>&1 || {
        case " ${DEB_BUILD_PROFILES:-} " in
            *" nodoc "*) [ "$pkg" = libprocreact-doc ] && continue ;;
        esac
        die "package $pkg was not built"
    }
done

# 3. Unpack into a scratch root.
root="$tmp/root"
mkdir -p "$root"
for deb in "${debs[@]}"; do
    case "$deb" in *-dbgsym_*) continue ;; esac
    dpkg -x "$deb" "$root" || die "dpkg -x $deb failed"
done
libdir="/usr/lib/$multiarch"
for f in "$libdir/libprocreact.so.0" "$libdir/libprocreact.so" \
         "$libdir/pkgconfig/libprocreact.pc" /usr/include/libprocreact/procreact_future.h; do
    [ -e "$root$f" ] || die "$f missing from the packages"
done
if ls "$tmp"/libprocreact-doc_*.deb >/dev/null 2>&1; then
    [ -f "$root/usr/share/doc/libprocreact-doc/html/index.html" ] \
        || die "libprocreact-doc has no html/index.html"
fi

# 4. A client against the unpacked packages only.
export PKG_CONFIG_SYSROOT_DIR="$root"
export PKG_CONFIG_LIBDIR="$root$libdir/pkgconfig:$root/usr/share/pkgconfig"
unset PKG_CONFIG_PATH
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
pc_version=$(pkg-config --modversion libprocreact) || die "pkg-config does not find libprocreact in the packages"
[ "$pc_version" = "$upstream" ] || die "pkg-config version $pc_version, expected $upstream"
cflags=$(pkg-config --cflags libprocreact) && libs=$(pkg-config --libs libprocreact) \
    || die "pkg-config --cflags/--libs failed"
# shellcheck disable=SC2086 # word lists
$cc -std=c99 -Wall -Werror -o "$tmp/client" "$srcdir/tests/packaging/client.c" $cflags $libs \
    || die "the client does not build against the packages ($cflags $libs)"
readelf -d "$tmp/client" | grep 'NEEDED.*\[libprocreact\.so\.0\]' >/dev/null \
    || die "the client does not link libprocreact.so.0"
LD_LIBRARY_PATH="$root$libdir" "$tmp/client" || die "the client failed against the packages"

# 5. lintian.
lintian --fail-on error --display-info --pedantic "$changes" >"$tmp/lintian.log" 2>&1
lrc=$?
cat "$tmp/lintian.log"
nerr=$(grep -c '^E: ' "$tmp/lintian.log" || true)
nwarn=$(grep -c '^W: ' "$tmp/lintian.log" || true)
ninfo=$(grep -c '^[IP]: ' "$tmp/lintian.log" || true)
if [ "$lrc" -ne 0 ] || [ "$nerr" -ne 0 ] || [ "$nwarn" -ne 0 ]; then
    die "lintian: $nerr error(s), $nwarn warning(s) (exit status $lrc)"
fi

echo "deb-check: PASS: $source $version built ($(ls "$tmp"/*.deb | wc -l) .debs), client built and ran via pkg-config, lintian: 0 errors, 0 warnings, $ninfo info/pedantic"
