#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the chroot of .ci/deb-chroot.sh, as the unprivileged build
# user: builds the binary packages from the unpacked tree in /build/src and
# copies the results to OUTDIR.
#   VARIANT "first": in /build/<pkg>, umask 022, LC_ALL=C.UTF-8, TZ=UTC,
#     the real time, parallel=JOBS;
#   VARIANT "second" (the reproducibility check): in a deeper, differently
#     named directory, umask 002, LC_ALL=C, TZ 14 hours east, parallel=1,
#     and under faketime 400 days ahead when faketime is installed.
# SOURCE_DATE_EPOCH is set by dpkg-buildpackage from debian/changelog in both.
#
# Usage: deb-chroot-build.sh PKGDIR OUTDIR first|second
# Environment: DEB_BUILD_OPTIONS, DEB_BUILD_PROFILES, JOBS.
set -eu
pkgdir=$1
out=$2
variant=$3
opts="${DEB_BUILD_OPTIONS:-}"
case $variant in
    first)
        top=/build
        umask 022
        locale=C.UTF-8 tz=UTC jobs=${JOBS:-2} wrap=""
        ;;
    second)
        top=/build/second/a-much-longer-build-path
        umask 002
        locale=C tz=Etc/GMT-14 jobs=1 wrap=""
        command -v faketime >/dev/null 2>&1 && wrap="faketime -f +400d"
        ;;
    *) echo "deb-chroot-build: unknown variant $variant" >&2; exit 2 ;;
esac
mkdir -p "$top" "$out"
[ -d "$top/$pkgdir" ] || cp -a "/build/src/$pkgdir" "$top/"
cd "$top/$pkgdir"
# shellcheck disable=SC2086 # $wrap is a command prefix or nothing
clock=$(TZ=$tz $wrap date +%Y-%m-%dT%H:%M%z)
echo "deb-chroot-build: $variant build in $PWD, umask $(umask), LC_ALL=$locale, TZ=$tz, parallel=$jobs, clock $clock${wrap:+ ($wrap)}"
# shellcheck disable=SC2086 # $wrap is a command prefix or nothing
env -i PATH=/usr/bin:/bin HOME="$HOME" USER="$(id -un)" LC_ALL="$locale" TZ="$tz" \
    DEB_BUILD_OPTIONS="parallel=$jobs${opts:+ $opts}" DEB_BUILD_PROFILES="${DEB_BUILD_PROFILES:-}" \
    DPKG_GENSYMBOLS_CHECK_LEVEL=4 \
    $wrap dpkg-buildpackage -us -uc -b
cp ../*.deb ../*.changes ../*.buildinfo "$out/"
