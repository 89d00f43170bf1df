#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Release tarball check:
#   1. `meson dist` makes procreact-<version>.tar.xz from the committed tree
#      (git HEAD) and, by itself, unpacks it, configures, builds, runs
#      `meson test` and installs it: the tarball must stand on its own;
#   2. the tarball is unpacked and installed once more to check that the
#      version appears where users see it: the pkg-config file, the NEWS
#      entry and the Doxygen pages (PROJECT_NUMBER), and that the packaging
#      files (debian/, abi/, .ci/) travel with it;
#   3. ready to sign: the .sha256sum beside the tarball matches it, a second
#      `meson dist --no-tests` of the same commit gives the same bytes (so
#      the checksum, and a detached signature of it, belong to the commit,
#      not to the machine or the hour), and debian/watch's pattern matches
#      the tarball's name with the project version.
#
# Usage: bash .ci/dist-check.sh           (from a git checkout)
# Environment: DIST_CHECK_QUICK=1 passes --no-tests to meson dist (a quick
# look, not the real check); DIST_CHECK_JOBS (default 2) for the test runner
# and the second build; DIST_CHECK_OUT=DIR copies the tarball there.
# Uncommitted changes are not in the tarball; the script says so and goes on.

set -u
set -o pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${DIST_CHECK_JOBS:-2}

die() {
    echo "dist-check: FAIL: $*"
    exit 1
}

for tool in meson ninja git pkg-config tar; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1 \
    || die "$srcdir is not a git checkout (meson dist archives git HEAD)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dist-check.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

dist_args=(--formats xztar)
if [ -n "$(git -C "$srcdir" status --porcelain --untracked-files=no)" ]; then
    echo "dist-check: note: uncommitted changes are not part of the tarball (it holds HEAD $(git -C "$srcdir" rev-parse --short HEAD))"
    dist_args+=(--allow-dirty)
fi
if [ "${DIST_CHECK_QUICK:-0}" = 1 ]; then
    echo "dist-check: note: DIST_CHECK_QUICK=1, the tarball's tests are not run"
    dist_args+=(--no-tests)
fi

# 1. meson dist, from a build directory of our own.
meson setup "$tmp/build" "$srcdir" >"$tmp/setup.log" 2>&1 \
    || { cat "$tmp/setup.log"; die "meson setup failed"; }
version=$(meson introspect --projectinfo "$tmp/build" \
          | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
[ -n "$version" ] || die "cannot read the project version"
echo "dist-check: meson dist for procreact $version (${dist_args[*]})"
if ! MESON_TESTTHREADS=$jobs meson dist -C "$tmp/build" "${dist_args[@]}" >"$tmp/dist.log" 2>&1; then
    tail -n 80 "$tmp/dist.log"
    die "meson dist failed (log above)"
fi
grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout): |^Created ' "$tmp/dist.log" || true
tarball="$tmp/build/meson-dist/procreact-$version.tar.xz"
[ -f "$tarball" ] || die "no $tarball"
(cd "$(dirname "$tarball")" && sha256sum -c "$(basename "$tarball").sha256sum" >/dev/null) \
    || die "checksum file does not match"
sum=$(cut -d' ' -f1 "$tarball.sha256sum")
mkdir -p "$tmp/first" && cp "$tarball" "$tarball.sha256sum" "$tmp/first/"
tarball=$tmp/first/$(basename "$tarball")

# 3. The same bytes again from a second run (--no-tests: only the archive).
sleep 1
t0=$(date +%s)
meson dist -C "$tmp/build" --formats xztar --no-tests --allow-dirty >"$tmp/dist2.log" 2>&1 \
    || { tail -n 20 "$tmp/dist2.log"; die "the second meson dist failed"; }
sum2=$(cut -d' ' -f1 "$tmp/build/meson-dist/procreact-$version.tar.xz.sha256sum")
t1=$(date +%s)
[ "$sum" = "$sum2" ] || die "two meson dist runs of one commit differ: $sum, then $sum2"
watch_re=$(sed -n 's/^ *\(procreact-[^ ]*\) *$/\1/p' "$srcdir/debian/watch")
[ -n "$watch_re" ] || die "no tarball pattern in debian/watch"
watched=$(basename "$tarball" | perl -ne "print \$1 if m{^$watch_re\$}")
[ "$watched" = "$version" ] \
    || die "debian/watch's pattern $watch_re gives '$watched' for $(basename "$tarball"), expected $version"
echo "dist-check: sha256 $sum, the same from a second run ($((t1 - t0)) s); debian/watch finds version $watched"

# 2. What the tarball holds.
tar -xf "$tarball" -C "$tmp" || die "cannot unpack the tarball"
top="$tmp/procreact-$version"
for f in meson.build meson_options.txt LICENSE NEWS README.md abi/libprocreact.abi \
         debian/control debian/libprocreact0.symbols tests/packaging/symbols.txt \
         .ci/abi-check.sh .ci/deb-check.sh .ci/dist-check.sh .ci/deb-chroot.sh \
         debian/watch debian/upstream/metadata debian/tests/control doc/packaging.md; do
    [ -e "$top/$f" ] || die "$f is missing from the tarball"
done
if tar -tf "$tarball" | grep -E '^procreact-[^/]*/(build[^/]*|obj-[^/]*|\.git)/' >/dev/null; then
    die "the tarball contains build or VCS directories"
fi
grep -E "^#+ *(procreact )?$version\b" "$top/NEWS" >/dev/null \
    || die "NEWS has no entry for $version"
debian_upstream=$(sed -n '1s/^[^(]*(\([^)-]*\).*/\1/p' "$top/debian/changelog")
[ "$debian_upstream" = "$version" ] \
    || die "debian/changelog is at $debian_upstream, the project at $version"

# Install the unpacked tree (no tests this time) and look at the version.
meson setup "$tmp/xbuild" "$top" --prefix=/usr -Dtests=disabled -Dexamples=false \
    -Dbench=false >"$tmp/xsetup.log" 2>&1 || { cat "$tmp/xsetup.log"; die "setup of the unpacked tarball failed"; }
meson compile -C "$tmp/xbuild" -j "$jobs" >"$tmp/xbuild.log" 2>&1 \
    || { tail -n 40 "$tmp/xbuild.log"; die "build of the unpacked tarball failed"; }
meson install -C "$tmp/xbuild" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/xinstall.log" 2>&1 \
    || { cat "$tmp/xinstall.log"; die "install of the unpacked tarball failed"; }
pc=$(find "$tmp/root" -name libprocreact.pc | head -n 1)
[ -n "$pc" ] || die "no libprocreact.pc installed"
pc_version=$(PKG_CONFIG_LIBDIR=$(dirname "$pc") pkg-config --modversion libprocreact)
[ "$pc_version" = "$version" ] || die "libprocreact.pc says $pc_version, expected $version"
docs="not built (no doxygen or -Ddocs=disabled)"
index=$(find "$tmp/root" -path '*/html/index.html' | head -n 1)
if [ -n "$index" ]; then
    grep -E "id=\"projectnumber\">(&#160;| )*${version//./\\.}<" "$index" >/dev/null \
        || die "the Doxygen pages do not show version $version ($index)"
    docs="version $version in html/index.html"
fi

if [ -n "${DIST_CHECK_OUT:-}" ]; then
    mkdir -p "$DIST_CHECK_OUT" && cp "$tarball" "$tarball.sha256sum" "$DIST_CHECK_OUT/"
fi

tests="tests run by meson dist"
[ "${DIST_CHECK_QUICK:-0}" = 1 ] && tests="tests NOT run (quick mode)"
echo "dist-check: PASS: procreact-$version.tar.xz ($(du -h "$tarball" | cut -f1), sha256 ${sum:0:16}..., reproducible) builds, $tests, installs; .pc $pc_version, NEWS entry, docs: $docs"
