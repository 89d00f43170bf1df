#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Black-box client test: installs the build into a scratch destdir, then
# compiles tests/client/client.c once as C and once as C++ against the
# installed headers and library, found only through pkg-config, and runs
# both binaries against the installed libprocreact.so.0.
#
# usage: run-client-test.sh BUILD_ROOT CLIENT_SOURCE PREFIX LIBDIR
set -eu

build_root=${1:-${MESON_BUILD_ROOT:-}}
client_src=$2
prefix=$3
libdir=$4
if [ -z "$build_root" ]; then
    echo "run-client-test.sh: no build directory given" >&2
    exit 1
fi
case $libdir in
    /*) full_libdir=$libdir ;;
    *) full_libdir=$prefix/$libdir ;;
esac

CC=${CC:-cc}
CXX=${CXX:-c++}
work=$(mktemp -d "${TMPDIR:-/tmp}/procreact-client.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
destdir=$work/dest

step() { printf '# %s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "meson install -C $build_root --destdir $destdir"
if ! meson install -C "$build_root" --destdir "$destdir" --no-rebuild >"$work/install.log" 2>&1; then
    cat "$work/install.log" >&2
    die "meson install failed"
fi

pcdir=$destdir$full_libdir/pkgconfig
[ -f "$pcdir/libprocreact.pc" ] || die "no libprocreact.pc in $pcdir"
for h in procreact_pid.h procreact_pid_iterator.h procreact_future.h procreact_future_iterator.h \
    procreact_types.h procreact_signal.h procreact_util.h; do
    [ -f "$destdir$prefix/include/libprocreact/$h" ] || die "header $h not installed in include/libprocreact"
done
[ -e "$destdir$full_libdir/libprocreact.so.0" ] || die "libprocreact.so.0 not installed in $full_libdir"

# Only the installed tree: no system copy, no source tree.
PKG_CONFIG_PATH=$pcdir
PKG_CONFIG_LIBDIR=$pcdir
PKG_CONFIG_SYSROOT_DIR=$destdir
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags libprocreact) || die "pkg-config --cflags failed"
libs=$(pkg-config --libs libprocreact) || die "pkg-config --libs failed"
step "cflags: $cflags"
step "libs: $libs"
case $cflags in
    *"$destdir"*libprocreact*) ;;
    *) die "pkg-config cflags do not point into the installed include/libprocreact: $cflags" ;;
esac

strict="-Wall -Wextra -Werror -pedantic"

# Every header on its own, in C89, C99, C11 and C++.
for h in procreact.h procreact_pid.h procreact_pid_iterator.h procreact_future.h \
    procreact_future_iterator.h procreact_types.h procreact_signal.h procreact_util.h \
    procreact_exit.h procreact_spawn.h procreact_control.h; do
    printf '#include <%s>\nint main(void) { return 0; }\n' "$h" >"$work/only.c"
    for std in c89 c99 c11; do
        # shellcheck disable=SC2086
        $CC -std=$std $strict $cflags -c "$work/only.c" -o "$work/only.o" ||
            die "$h does not compile alone as $std"
    done
    # shellcheck disable=SC2086
    $CXX -x c++ -std=c++11 $strict $cflags -c "$work/only.c" -o "$work/only.o" ||
        die "$h does not compile alone as C++"
done

step "building the client as C"
# shellcheck disable=SC2086
$CC -std=c99 $strict $cflags "$client_src" -o "$work/client_c" $libs || die "C client does not build"
step "building the client as C++"
# shellcheck disable=SC2086
$CXX -x c++ -std=c++11 $strict $cflags "$client_src" -x none -o "$work/client_cxx" $libs ||
    die "C++ client does not build or link (extern \"C\" missing?)"

if command -v nm >/dev/null 2>&1; then
    if nm -u "$work/client_cxx" | grep -q ' U _Z.*procreact'; then
        die "the C++ client refers to mangled procreact symbols"
    fi
fi

LD_LIBRARY_PATH=$destdir$full_libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
for bin in client_c client_cxx; do
    if command -v ldd >/dev/null 2>&1; then
        ldd "$work/$bin" | grep -q "libprocreact.so.0 => $destdir" ||
            die "$bin does not load the installed libprocreact.so.0"
    fi
    step "running $bin"
    "$work/$bin" || die "$bin failed"
done
echo "ok: C and C++ clients built against the installed libprocreact and passed"
