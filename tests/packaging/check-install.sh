#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Install-layout test. Installs the build tree into a fresh DESTDIR, compares
# what landed there with install-layout.txt, checks the soname and the symbolic
# links, then builds and runs a small client against that DESTDIR through
# pkg-config, the way a distribution's package would be used.
#
# check-install.sh --meson MESON --builddir DIR --layout FILE --client FILE.c
#                  --prefix P --libdir L --includedir I --datadir D
#                  --soversion S --version V --docs yes|no --cc "CC ARGS"
# (libdir, includedir and datadir may be relative to the prefix, as Meson
# reports them.)

set -u

meson=meson builddir='' layout='' client='' prefix='' libdir='' includedir=''
datadir='' soversion='' version='' docs=no cc=${CC:-cc}
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || { echo "check-install: $1 needs a value" >&2; exit 2; }
    case "$1" in
        --meson) meson=$2 ;;
        --builddir) builddir=$2 ;;
        --layout) layout=$2 ;;
        --client) client=$2 ;;
        --prefix) prefix=$2 ;;
        --libdir) libdir=$2 ;;
        --includedir) includedir=$2 ;;
        --datadir) datadir=$2 ;;
        --soversion) soversion=$2 ;;
        --version) version=$2 ;;
        --docs) docs=$2 ;;
        --cc) cc=$2 ;;
        *) echo "check-install: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done

abs() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "${prefix%/}" "$1" ;;
    esac
}
libdir=$(abs "$libdir")
includedir=$(abs "$includedir")
datadir=$(abs "$datadir")
bindir=$(abs bin)

fail=0
note() { echo "check-install: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

dest=$(mktemp -d "${TMPDIR:-/tmp}/procreact-destdir.XXXXXX") || exit 2
trap 'rm -rf "$dest"' EXIT HUP INT TERM

# 0. `meson test` builds only what the selected tests depend on, and the
# docs are defined after tests/, so they may not be built yet. Installing
# needs every output: skip (77) rather than rebuild from inside a test.
unbuilt=$("$meson" introspect --installed "$builddir" 2>/dev/null | python3 -c '
import json, os, sys
for built in json.load(sys.stdin):
    if os.path.isabs(built) and not os.path.lexists(built):
        print(built)
' 2>/dev/null)
if [ -n "$unbuilt" ]; then
    echo "check-install: SKIP: not everything is built yet; run 'meson compile -C $builddir' (or ninja) before 'meson test'. Missing:"
    printf '  %s\n' $unbuilt
    exit 77
fi

# 1. Install. --no-rebuild: `meson test` has already built everything, and a
# rebuild from inside a test would race with ninja. Subprojects (the cmocka
# fallback) are not part of our layout.
if ! "$meson" install -C "$builddir" --destdir "$dest" --no-rebuild --quiet \
        --skip-subprojects >"$dest.log" 2>&1; then
    cat "$dest.log"; rm -f "$dest.log"
    echo "check-install: FAILED: meson install"
    exit 1
fi
rm -f "$dest.log"

# 2. Compare the installed files with the layout.
expand() {
    sed -e "s|@libdir@|$libdir|g" -e "s|@includedir@|$includedir|g" \
        -e "s|@datadir@|$datadir|g" -e "s|@soversion@|$soversion|g" -e "s|@bindir@|$bindir|g" -e "s|@prefix@|${prefix%/}|g" "$1" \
        | awk '!/^[[:space:]]*(#|$)/ { print $1, $2 }'
}
rules=$(expand "$layout")

installed=$(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\.||' | LC_ALL=C sort)

matches() { # matches PATH PATTERN
    case "$1" in
        $2) return 0 ;;
    esac
    return 1
}

# Every installed path must be covered by a rule.
for path in $installed; do
    covered=0
    while read -r kind pattern; do
        if matches "$path" "$pattern"; then
            if [ "$kind" = docs ] && [ "$docs" != yes ]; then
                continue
            fi
            covered=1
            break
        fi
    done <<EOF
$rules
EOF
    [ "$covered" -eq 1 ] || bad "unexpected installed file $path (add it to $(basename "$layout") if intended)"
done

# Every required rule must be satisfied.
ndocs=0
while read -r kind pattern; do
    hits=''
    for path in $installed; do
        if matches "$path" "$pattern"; then hits="$hits $path"; fi
    done
    count=$(printf '%s\n' $hits | grep -c . || true)
    one=${hits# }
    case "$kind" in
        file)
            if [ "$count" -ne 1 ]; then
                bad "expected exactly one file $pattern, found $count:$hits"
            elif [ -L "$dest$one" ] || [ ! -f "$dest$one" ]; then
                bad "$one should be a regular file"
            fi ;;
        link)
            if [ "$count" -ne 1 ] || [ ! -L "$dest$one" ]; then
                bad "expected the symbolic link $pattern"
            fi ;;
        docs) ndocs=$((ndocs + count)) ;;
    esac
done <<EOF
$rules
EOF
if [ "$docs" = yes ] && [ "$ndocs" -eq 0 ]; then
    bad "docs are enabled but nothing was installed under $datadir/doc"
fi

# 3. The library: soname and link chain.
real=$(ls "$dest$libdir"/libprocreact.so."$soversion".* 2>/dev/null | head -n 1)
if [ -n "$real" ]; then
    soname=$(readelf -d "$real" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$soname" = "libprocreact.so.$soversion" ] \
        || bad "soname is '$soname', expected libprocreact.so.$soversion"
    for l in "libprocreact.so.$soversion" libprocreact.so; do
        target=$(readlink -f "$dest$libdir/$l" 2>/dev/null || true)
        [ "$target" = "$(readlink -f "$real")" ] \
            || bad "$libdir/$l does not lead to $(basename "$real")"
        case "$(readlink "$dest$libdir/$l" 2>/dev/null)" in
            /*) bad "$libdir/$l is an absolute link (breaks relocation)" ;;
        esac
    done
fi

# 4. pkg-config, confined to DESTDIR.
PKG_CONFIG_SYSROOT_DIR=$dest
PKG_CONFIG_LIBDIR=$dest$libdir/pkgconfig
PKG_CONFIG_PATH=$dest$libdir/pkgconfig
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR PKG_CONFIG_PATH \
    PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS
pc_version=$(pkg-config --modversion libprocreact 2>&1)
[ "$pc_version" = "$version" ] || bad "pkg-config --modversion libprocreact gives '$pc_version', expected $version"
cflags=$(pkg-config --cflags libprocreact 2>&1)
libs=$(pkg-config --libs libprocreact 2>&1)
case " $cflags " in
    *" -I$dest$includedir/libprocreact "*) ;;
    *) bad "pkg-config --cflags is '$cflags', expected -I\${includedir}/libprocreact" ;;
esac
case " $libs " in
    *" -lprocreact "*) ;;
    *) bad "pkg-config --libs is '$libs', expected -lprocreact" ;;
esac

# 5. A client built and run against DESTDIR only.
if [ "$fail" -eq 0 ]; then
    # shellcheck disable=SC2086 # cc, cflags and libs are word lists
    if ! $cc -std=c99 -Wall -Werror -o "$dest/client" "$client" $cflags $libs; then
        bad "the client does not build against DESTDIR"
    elif ! LD_LIBRARY_PATH=$dest$libdir "$dest/client"; then
        bad "the client built against DESTDIR does not run correctly"
    fi
fi

n=$(printf '%s\n' $installed | grep -c . || true)
if [ "$fail" -eq 0 ]; then
    note "OK: $n installed paths match $(basename "$layout") (docs: $docs), soname libprocreact.so.$soversion, pkg-config $pc_version, client built and ran"
    exit 0
fi
echo "check-install: FAILED"
printf '%s\n' "installed:" $installed | sed '2,$s/^/  /'
exit 1
