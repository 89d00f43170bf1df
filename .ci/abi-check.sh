#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# ABI gate: compares the ABI of libprocreact.so, as seen through the public
# headers in include/, with the committed baseline abi/libprocreact.abi.
#
#   bash .ci/abi-check.sh              build a debug library in a scratch dir, compare
#   bash .ci/abi-check.sh --lib PATH   compare an already built library (needs -g)
#   bash .ci/abi-check.sh --update     rewrite the baseline from the current tree
#                                      (an ABI change made on purpose; see doc/packaging.md)
#
# Verdict (from abidiff's exit status bits: 1 error, 2 usage error,
# 4 ABI change, 8 incompatible change):
#   - no change                                     -> pass
#   - only added functions/variables                -> pass, additions reported
#     (decided by a second abidiff run with --no-added-syms that must be clean)
#   - anything else (removed symbol, changed struct, signature or enum value) -> fail
# Appending an enumerator is treated by abidiff as harmless and passes.
#
# Environment: ABI_BUILDDIR (reuse this build dir instead of a temp one),
# ABI_JOBS (parallel jobs for the build, default 2).
# Exit status: 0 pass, 1 ABI break, 2 tool or setup error, 77 skipped
# (only with --lib, when the library carries no debug information).

set -u
set -o pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
baseline="$srcdir/abi/libprocreact.abi"
headers="$srcdir/include"
lib=""
update=0
jobs=${ABI_JOBS:-2}

usage() {
    sed -n '3,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --lib) lib=${2:?--lib needs a path}; shift 2 ;;
        --lib=*) lib=${1#--lib=}; shift ;;
        --update) update=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "abi-check: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

die() {
    echo "abi-check: ERROR: $*" >&2
    echo "abi-check: ERROR"
    exit 2
}

for tool in abidw abidiff readelf; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: apt install abigail-tools binutils)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/abi-check.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

if [ -z "$lib" ]; then
    command -v meson >/dev/null 2>&1 || die "meson not found"
    builddir=${ABI_BUILDDIR:-$tmp/build}
    # The ABI description comes from DWARF, so build with debug info and
    # nothing else the library does not need.
    if [ ! -f "$builddir/build.ninja" ]; then
        meson setup "$builddir" "$srcdir" --buildtype=debug \
            -Dtests=disabled -Ddocs=disabled -Dexamples=false -Dbench=false \
            >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log" >&2; die "meson setup failed"; }
    fi
    meson compile -C "$builddir" -j "$jobs" procreact >"$tmp/build.log" 2>&1 \
        || { cat "$tmp/build.log" >&2; die "building the library failed"; }
    lib="$builddir/src/libprocreact.so"
fi

[ -r "$lib" ] || die "library not found: $lib"
lib=$(readlink -f "$lib")

if ! readelf -S "$lib" 2>/dev/null | grep '\.debug_info' >/dev/null; then
    echo "abi-check: SKIP: $lib has no debug information (build with -g, e.g. --buildtype=debug)"
    exit 77
fi

# The same flags for the baseline and for every comparison: only functions
# the library exports, only types declared in include/, no file paths or
# line numbers (they change with every edit and are not ABI).
abidw_flags=(--headers-dir "$headers" --drop-private-types --exported-interfaces-only
             --load-all-types --drop-undefined-syms --no-corpus-path --no-show-locs
             --type-id-style hash)

abidw "${abidw_flags[@]}" --out-file "$tmp/raw.abi" "$lib" >"$tmp/abidw.log" 2>&1 \
    || { cat "$tmp/abidw.log" >&2; die "abidw failed on $lib"; }
# abidw still records where each translation unit was compiled; keep only
# the source file name so the baseline does not depend on the build dir.
sed -E "s#(<abi-instr [^>]*)path='([^']*/)?([^'/]*)' comp-dir-path='[^']*'#\1path='\3'#" \
    "$tmp/raw.abi" >"$tmp/current.abi" || die "sed failed"

if [ "$update" -eq 1 ]; then
    mkdir -p "$(dirname "$baseline")"
    cp "$tmp/current.abi" "$baseline"
    nfun=$(grep -c '<elf-symbol ' "$baseline" || true)
    echo "abi-check: baseline updated: $baseline ($nfun exported symbols)"
    echo "abi-check: review 'git diff abi/', commit it, and say in NEWS why the ABI changed"
    exit 0
fi

[ -r "$baseline" ] || die "no baseline at $baseline (create one with --update)"

echo "abi-check: comparing $lib with ${baseline#"$srcdir"/}"
abidiff --no-show-locs "$baseline" "$tmp/current.abi" >"$tmp/full.txt" 2>&1
rc=$?
cat "$tmp/full.txt"

if [ $((rc & 1)) -ne 0 ]; then
    die "abidiff failed (exit status $rc)"
fi
if [ "$rc" -eq 0 ]; then
    echo "abi-check: PASS: no ABI change against the baseline"
    exit 0
fi
if [ $((rc & 8)) -ne 0 ]; then
    echo "abi-check: FAIL: incompatible ABI change (abidiff exit status $rc: symbols removed)"
    exit 1
fi

# Bit 4 alone: something changed. Compatible only when everything left,
# once additions are set aside, is nothing.
abidiff --no-show-locs --no-added-syms "$baseline" "$tmp/current.abi" >"$tmp/noadd.txt" 2>&1
rc2=$?
if [ "$rc2" -eq 0 ]; then
    added=$(grep -c "^  \[A\]" "$tmp/full.txt" || true)
    echo "abi-check: PASS: $added compatible addition(s), listed above (abidiff exit status $rc);" \
         "run 'bash .ci/abi-check.sh --update' when releasing them"
    exit 0
fi
echo "abi-check: FAIL: ABI change other than additions (abidiff exit status $rc):" \
     "a struct, enum value or signature changed; see the report above"
exit 1
