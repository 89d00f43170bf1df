#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Compares two sets of .deb files built from the same source (the
# reproducibility check of .ci/deb-chroot.sh with DEB_CHROOT_REPRO=1): each
# .deb of DIR1 must be bit-identical to the one of the same name in DIR2.
# For a pair that differs it prints diffoscope's text report when diffoscope
# is installed, else the differing members and file listings.
#
# Usage: bash .ci/deb-compare.sh DIR1 DIR2
# Exit status 0 when every pair is identical, 1 otherwise.

set -u
set -o pipefail

[ $# -eq 2 ] || { echo "usage: deb-compare.sh DIR1 DIR2" >&2; exit 2; }
a=$1
b=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb-compare.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

same=0
differ=0
for deb in "$a"/*.deb; do
    name=${deb##*/}
    if [ ! -f "$b/$name" ]; then
        echo "deb-compare: $name: missing from the second build"
        differ=$((differ + 1))
        continue
    fi
    if cmp -s "$deb" "$b/$name"; then
        echo "deb-compare: $name: identical ($(sha256sum <"$deb" | cut -c1-16))"
        same=$((same + 1))
        continue
    fi
    differ=$((differ + 1))
    echo "deb-compare: $name: DIFFERS"
    if command -v diffoscope >/dev/null 2>&1; then
        diffoscope --text - --no-progress "$deb" "$b/$name" | head -n 200
    else
        for side in 1 2; do
            src=$deb
            [ "$side" = 2 ] && src=$b/$name
            mkdir -p "$tmp/$side"
            dpkg-deb -c "$src" | awk '{ $4 = $5 = ""; print }' >"$tmp/$side/list"
            dpkg-deb -x "$src" "$tmp/$side/root"
        done
        diff -u "$tmp/1/list" "$tmp/2/list" | head -n 40
        diff -rq "$tmp/1/root" "$tmp/2/root" | head -n 40
        rm -rf "$tmp/1" "$tmp/2"
    fi
done
for deb in "$b"/*.deb; do
    [ -f "$a/${deb##*/}" ] || { echo "deb-compare: ${deb##*/}: missing from the first build"; differ=$((differ + 1)); }
done
echo "deb-compare: $same identical, $differ different"
[ "$differ" -eq 0 ]
