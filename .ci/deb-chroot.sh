#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Clean-chroot Debian build: the packages must build with nothing but the
# Build-Depends that debian/control declares.
#   1. copies the tree (the files git knows) to a scratch directory,
#   2. makes a minimal bookworm chroot for ARCH with mmdebstrap (variant
#      buildd: Essential, build-essential and apt, nothing else),
#   3. inside it: installs the declared Build-Depends with
#      `apt-get build-dep` (honouring the nocheck/nodoc profiles), then builds
#      as an unprivileged user with `dpkg-buildpackage -us -uc -b` and
#      DPKG_GENSYMBOLS_CHECK_LEVEL=4 (the symbols file must match exactly),
#   4. copies the .debs, .changes, .buildinfo and the build log out; the
#      chroot itself is thrown away,
#   5. for the host's own architecture hands the results to
#      `.ci/deb-check.sh --debs` (client against the unpacked -dev package,
#      lintian with 0 errors and 0 warnings); for another architecture runs
#      lintian only (the client cannot run here).
#
# Usage: bash .ci/deb-chroot.sh [amd64|i386]     (default: the host's)
#   Needs mmdebstrap, lintian, dpkg-dev; root, or unprivileged user
#   namespaces with subuids for mmdebstrap's unshare mode.
# Environment:
#   DEB_BUILD_OPTIONS   passed into the chroot (e.g. nocheck: the test suite
#                       and its build dependencies are left out)
#   DEB_BUILD_PROFILES  passed to apt-get build-dep and dpkg-buildpackage
#   DEB_CHROOT_MIRROR   default http://deb.debian.org/debian
#   DEB_CHROOT_SECURITY default http://deb.debian.org/debian-security
#   DEB_CHROOT_REPRO=1  build a second time in the same chroot with another
#                       path, umask, locale, time zone, job count and clock
#                       (.ci/deb-chroot-build.sh) and require bit-identical
#                       .debs (.ci/deb-compare.sh)
#   DEB_CHROOT_AUTOPKGTEST=1  then run debian/tests with autopkgtest's null
#                       runner inside the chroot against the built .debs
#   DEB_CHROOT_OUT=DIR  also copy the results there
#   DEB_CHROOT_JOBS     parallel=N in the chroot (default 2)
#   DEB_CHROOT_KEEP=1   keep the scratch directory
#   DEB_CHROOT_APT_CACHE=DIR  where downloaded packages are kept between
#                       runs (default apt's own, /var/cache/apt/archives;
#                       empty: download everything, keep nothing)
# Packages are cached only where apt caches them anyway: the host's
# /var/cache/apt/archives (hard links in and out, when it is writable and on
# the same file system; otherwise everything is downloaded).

# The hooks are single-quoted on purpose: mmdebstrap's shell expands them.
# shellcheck disable=SC2016

set -u
set -o pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
arch=${1:-$(dpkg --print-architecture)}
jobs=${DEB_CHROOT_JOBS:-2}
mirror=${DEB_CHROOT_MIRROR:-http://deb.debian.org/debian}
security=${DEB_CHROOT_SECURITY:-http://deb.debian.org/debian-security}
suite=bookworm

die() {
    echo "deb-chroot: FAIL: $*"
    exit 1
}

case "$arch" in
    amd64 | i386) ;;
    *) die "unknown architecture '$arch' (amd64 or i386; others need qemu-user, untried)" ;;
esac
for tool in mmdebstrap dpkg-parsechangelog lintian; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt install mmdebstrap dpkg-dev lintian)"
done

version=$(cd "$srcdir" && dpkg-parsechangelog -S Version) || die "cannot read debian/changelog"
source=$(cd "$srcdir" && dpkg-parsechangelog -S Source)
upstream=${version%-*}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb-chroot.XXXXXX") || die "mktemp failed"
chmod 755 "$tmp"
if [ "${DEB_CHROOT_KEEP:-0}" = 1 ]; then
    echo "deb-chroot: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi

# 1. Scratch copy of the tree, named as dpkg-source expects.
bash "$srcdir/.ci/copy-tree.sh" "$srcdir" "$tmp/src/$source-$upstream" \
    || die "copying the tree failed"

# 2.-4. One mmdebstrap run: the hooks do the build; the chroot goes to
# /dev/null. The hooks see these through the environment.
profiles=${DEB_BUILD_PROFILES:-}
case " ${DEB_BUILD_OPTIONS:-} " in
    *" nocheck "*) case " $profiles " in *" nocheck "*) ;; *) profiles="${profiles:+$profiles }nocheck" ;; esac ;;
esac
export DEB_CHROOT_TMP="$tmp" DEB_CHROOT_PKGDIR="$source-$upstream" DEB_CHROOT_JOBS="$jobs"
export DEB_CHROOT_OPTS="${DEB_BUILD_OPTIONS:-}" DEB_CHROOT_PROFILES="$profiles"
cache=${DEB_CHROOT_APT_CACHE-/var/cache/apt/archives}
[ -n "$cache" ] && [ -w "$cache" ] || cache=""
export DEB_CHROOT_CACHE="$cache"
repro=${DEB_CHROOT_REPRO:-0}
export DEB_CHROOT_REPRO="$repro"
autopkgtest=${DEB_CHROOT_AUTOPKGTEST:-0}

# The hooks, in order. The build runs as user "builder", through
# .ci/deb-chroot-build.sh copied into the chroot.
as_builder='chroot "$1" runuser -u builder -- env HOME=/home/builder JOBS="$DEB_CHROOT_JOBS" DEB_BUILD_OPTIONS="$DEB_CHROOT_OPTS" DEB_BUILD_PROFILES="$DEB_CHROOT_PROFILES" sh /build/deb-chroot-build.sh "$DEB_CHROOT_PKGDIR"'
hooks=(
    --setup-hook='[ -z "$DEB_CHROOT_CACHE" ] || { mkdir -p "$1/var/cache/apt/archives"; find "$DEB_CHROOT_CACHE" -maxdepth 1 -name "*.deb" -exec ln -t "$1/var/cache/apt/archives/" {} + 2>/dev/null || true; }'
    --customize-hook='mkdir -p "$1/build/src" && cp -a "$DEB_CHROOT_TMP/src/$DEB_CHROOT_PKGDIR" "$1/build/src/" && cp "$DEB_CHROOT_TMP/src/$DEB_CHROOT_PKGDIR/.ci/deb-chroot-build.sh" "$1/build/"'
    --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q --no-install-recommends ${DEB_CHROOT_PROFILES:+-P "$(echo $DEB_CHROOT_PROFILES | tr " " ,)"} "/build/src/$DEB_CHROOT_PKGDIR" >"$DEB_CHROOT_TMP/build-dep.log" 2>&1 || { tail -n 30 "$DEB_CHROOT_TMP/build-dep.log"; exit 1; }'
    --customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" >"$DEB_CHROOT_TMP/installed.txt"'
    --customize-hook='[ "$DEB_CHROOT_REPRO" != 1 ] || chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --download-only faketime >/dev/null'
    --customize-hook='[ -z "$DEB_CHROOT_CACHE" ] || for f in "$1"/var/cache/apt/archives/*.deb; do [ -e "$DEB_CHROOT_CACHE/${f##*/}" ] || ln "$f" "$DEB_CHROOT_CACHE/" 2>/dev/null || true; done'
    --customize-hook='chroot "$1" useradd --create-home --shell /bin/sh builder && chroot "$1" chown -R builder: /build'
    --customize-hook="$as_builder"' /build/out first >"$DEB_CHROOT_TMP/build.log" 2>&1 || { tail -n 60 "$DEB_CHROOT_TMP/build.log"; exit 1; }'
    --customize-hook='mkdir -p "$DEB_CHROOT_TMP/out" && cp "$1"/build/out/* "$DEB_CHROOT_TMP/out/"'
)
if [ "$repro" = 1 ]; then
    hooks+=(
        --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends faketime >/dev/null'
        --customize-hook="$as_builder"' /build/out2 second >"$DEB_CHROOT_TMP/build2.log" 2>&1 || { tail -n 60 "$DEB_CHROOT_TMP/build2.log"; exit 1; }'
        --customize-hook='mkdir -p "$DEB_CHROOT_TMP/out2" && cp "$1"/build/out2/* "$DEB_CHROOT_TMP/out2/"'
    )
fi
if [ "$autopkgtest" = 1 ]; then
    # After the builds (its packages must not be in a build's chroot): the
    # tests of debian/tests against the .debs just built, null runner, in
    # this chroot; autopkgtest itself installs each test's Depends.
    hooks+=(
        --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends autopkgtest >"$DEB_CHROOT_TMP/autopkgtest-install.log" 2>&1 || { tail -n 30 "$DEB_CHROOT_TMP/autopkgtest-install.log"; exit 1; }'
        --customize-hook='chroot "$1" sh -c "cd /build/src/$DEB_CHROOT_PKGDIR && autopkgtest --summary-file=/build/autopkgtest.summary /build/out/*.deb ./ -- null" >"$DEB_CHROOT_TMP/autopkgtest.log" 2>&1; rc=$?; cp "$1/build/autopkgtest.summary" "$DEB_CHROOT_TMP/" 2>/dev/null; [ $rc -eq 0 ] || [ $rc -eq 2 ] || { tail -n 80 "$DEB_CHROOT_TMP/autopkgtest.log"; exit 1; }'
    )
fi
# dpkg through eatmydata: no fsync while the chroot is set up (it is thrown
# away). Given after the hooks above, so their apt runs have it too.
[ -d /usr/share/mmdebstrap/hooks/eatmydata ] && hooks+=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)

echo "deb-chroot: building $source $version for $arch in a clean $suite chroot${profiles:+ (profiles: $profiles)}${DEB_BUILD_OPTIONS:+ (options: $DEB_BUILD_OPTIONS)}"
start=$(date +%s)
mmdebstrap --variant=buildd --arch="$arch" "${hooks[@]}" "$suite" /dev/null \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" \
    >"$tmp/mmdebstrap.log" 2>&1
rc=$?
end=$(date +%s)
if [ "$rc" -ne 0 ]; then
    tail -n 80 "$tmp/mmdebstrap.log"
    die "the chroot build failed after $((end - start)) s (log above)"
fi
grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout):|^dpkg-gensymbols: ' "$tmp/build.log" || true
echo "deb-chroot: built in $((end - start)) s with $(wc -l <"$tmp/installed.txt") packages in the chroot: $(cd "$tmp/out" && ls -- *.deb | tr '\n' ' ')"
if [ "$repro" = 1 ]; then
    grep -E "^deb-chroot-build: " "$tmp/build.log" "$tmp/build2.log" | sed "s/^[^:]*://"
    bash "$srcdir/.ci/deb-compare.sh" "$tmp/out" "$tmp/out2" \
        || die "the two builds differ (see above)"
fi
if [ "$autopkgtest" = 1 ]; then
    echo "deb-chroot: autopkgtest (null runner, in the chroot):"
    sed 's/^/    /' "$tmp/autopkgtest.summary"
    grep -Ev ' (PASS|SKIP)( |$)' "$tmp/autopkgtest.summary" >/dev/null && die "autopkgtest failed"
fi
if [ -n "${DEB_CHROOT_OUT:-}" ]; then
    mkdir -p "$DEB_CHROOT_OUT" && cp "$tmp"/out/* "$tmp/build.log" "$DEB_CHROOT_OUT/" \
        || die "cannot copy the results to $DEB_CHROOT_OUT"
fi

# 5. Checks on the results.
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
    bash "$srcdir/.ci/deb-check.sh" --debs "$tmp/out" || die "checks on the built packages failed"
else
    changes=("$tmp"/out/*.changes)
    lintian --display-info --pedantic "${changes[0]}" >"$tmp/lintian.log" 2>&1
    lrc=$?
    cat "$tmp/lintian.log"
    nerr=$(grep -c '^E: ' "$tmp/lintian.log" || true)
    nwarn=$(grep -c '^W: ' "$tmp/lintian.log" || true)
    [ "$lrc" -eq 0 ] && [ "$nerr" -eq 0 ] && [ "$nwarn" -eq 0 ] \
        || die "lintian: $nerr error(s), $nwarn warning(s) (exit status $lrc)"
    echo "deb-chroot: lintian: 0 errors, 0 warnings (the client check needs the host's architecture; not run)"
fi
echo "deb-chroot: PASS: $source $version for $arch from a clean $suite chroot"
