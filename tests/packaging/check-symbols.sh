#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-symbols.sh LIBRARY SYMBOLS_LIST
#
# Compares the dynamic symbols LIBRARY defines with SYMBOLS_LIST (lines of
# "<name> <since>", '#' comments allowed; <since> is "compat" for the 32
# libprocreact 0.1 functions). Fails when
#   - a listed symbol is not exported (a missing compat symbol breaks every
#     libprocreact 0.1 binary; a missing addition means the list is stale),
#   - an exported symbol is not listed (an addition nobody decided on),
#   - a C++-mangled (_Z...) symbol is exported,
#   - the list does not hold exactly 32 compat entries.
# Set NM to use another nm (cross builds). Exits 77, which Meson reports as
# SKIP, when that nm cannot be found: without it the exports cannot be read.

set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 LIBRARY SYMBOLS_LIST" >&2
    exit 2
fi
lib=$1
list=$2
nm_tool=${NM:-nm}
expected_compat=32

for f in "$lib" "$list"; do
    if [ ! -r "$f" ]; then
        echo "check-symbols: cannot read $f" >&2
        exit 2
    fi
done

if ! command -v "$nm_tool" >/dev/null 2>&1; then
    echo "check-symbols: SKIP: '$nm_tool' not found, cannot list the exports of $lib" \
         "(install binutils, or set NM to an nm that reads ELF)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-symbols.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

# Exported = defined in the dynamic symbol table. Version-definition
# entries (type A) are not functions and are ignored.
if ! "$nm_tool" -D --defined-only "$lib" >"$tmp/nm.out"; then
    echo "check-symbols: $nm_tool failed on $lib" >&2
    exit 2
fi
awk 'NF >= 2 && $(NF-1) != "A" { sub(/@.*/, "", $NF); print $NF }' "$tmp/nm.out" \
    | LC_ALL=C sort -u >"$tmp/exported"

awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$list" | LC_ALL=C sort -u >"$tmp/listed"
awk '!/^[[:space:]]*(#|$)/ && $2 == "compat" { print $1 }' "$list" \
    | LC_ALL=C sort -u >"$tmp/compat"

status=0

n_compat=$(wc -l <"$tmp/compat" | tr -d ' ')
if [ "$n_compat" -ne "$expected_compat" ]; then
    echo "FAIL: $list has $n_compat compat entries, expected $expected_compat"
    status=1
fi

mangled=$(grep '^_Z' "$tmp/exported" || true)
if [ -n "$mangled" ]; then
    echo "FAIL: C++-mangled symbols are exported:"
    printf '  %s\n' $mangled
    status=1
fi

missing_compat=$(LC_ALL=C comm -23 "$tmp/compat" "$tmp/exported")
if [ -n "$missing_compat" ]; then
    echo "FAIL: libprocreact 0.1 symbols not exported (breaks existing binaries):"
    printf '  %s\n' $missing_compat
    status=1
fi

missing_other=$(LC_ALL=C comm -23 "$tmp/listed" "$tmp/exported" \
    | LC_ALL=C comm -23 - "$tmp/compat")
if [ -n "$missing_other" ]; then
    echo "FAIL: listed additions no longer exported (removing an exported symbol is an ABI break):"
    printf '  %s\n' $missing_other
    status=1
fi

unlisted=$(LC_ALL=C comm -13 "$tmp/listed" "$tmp/exported" | grep -v '^_Z' || true)
if [ -n "$unlisted" ]; then
    echo "FAIL: exported but not listed in $list (add them on purpose, with the release):"
    printf '  %s\n' $unlisted
    status=1
fi

n_exported=$(wc -l <"$tmp/exported" | tr -d ' ')
if [ "$status" -eq 0 ]; then
    echo "check-symbols: OK: $n_exported exported symbols ($n_compat compatible, $((n_exported - n_compat)) additions) match $(basename "$list")"
else
    echo "check-symbols: FAILED for $lib ($n_exported exported symbols)"
fi
exit "$status"
