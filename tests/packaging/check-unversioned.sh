#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A binary built against libprocreact 0.1 imports plain, unversioned names.
# The library now puts its symbols in version nodes (src/libprocreact.map):
# such a binary must still load and run. This links client.c against a stub
# libprocreact.so.0 that exports the 0.1 names without any version (as 0.1
# did), checks that the binary asks for no symbol version of ours, and runs
# it against the real library.
#
# usage: check-unversioned.sh CC LIBDIR INCLUDEDIR CLIENT_C SYMBOLS_TXT
set -eu

cc=$1 libdir=$2 includedir=$3 client=$4 symbols=$5

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-unversioned.XXXXXX")
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

# The stub: every 0.1 function, empty, no version script.
awk '$2 == "compat" { printf "void %s(void) {}\n", $1 }' "$symbols" >"$tmp/stub.c"
mkdir "$tmp/stub"
$cc -shared -fPIC -o "$tmp/stub/libprocreact.so.0" -Wl,-soname,libprocreact.so.0 "$tmp/stub.c"
ln -s libprocreact.so.0 "$tmp/stub/libprocreact.so"

$cc -o "$tmp/client" "$client" -I"$includedir" -L"$tmp/stub" -lprocreact

if command -v readelf >/dev/null 2>&1; then
    if readelf -V "$tmp/client" | grep -q PROCREACT_; then
        echo "FAIL: the client built against the unversioned stub asks for a PROCREACT_ version" >&2
        exit 1
    fi
fi

if ! LD_LIBRARY_PATH="$libdir" "$tmp/client"; then
    echo "FAIL: a client linked against an unversioned libprocreact.so.0 does not run against this one" >&2
    exit 1
fi
echo "check-unversioned: OK: an unversioned 0.1-style binary runs against the versioned library"
