#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Uses procreact the way a Meson superproject would: a scratch project with
# this source tree as subprojects/procreact asks for dependency('libprocreact')
# (found through meson.override_dependency()), builds a small C client
# against it and runs it.
# Usage: check-subproject.sh MESON SOURCE_ROOT CLIENT_C
set -eu
meson=$1
source_root=$2
client=$3

work=$(mktemp -d "${TMPDIR:-/tmp}/procreact-subproject.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/super/subprojects"
# A copy without build directories, so that the subproject configures cleanly.
(cd "$source_root" && tar --exclude='./build*' --exclude='./.git' --exclude='./obj-*' -cf - .) |
    (mkdir -p "$work/super/subprojects/procreact" && cd "$work/super/subprojects/procreact" && tar -xf -)
cp "$client" "$work/super/client.c"
cat >"$work/super/meson.build" <<'MESON'
project('procreact-superproject', 'c', default_options : ['c_std=c11'])
procreact = dependency('libprocreact', fallback : ['procreact', 'procreact_dep'],
  default_options : ['tests=disabled', 'docs=disabled', 'examples=false', 'bench=false'])
executable('client', 'client.c', dependencies : procreact)
MESON

"$meson" setup "$work/build" "$work/super" --wrap-mode=nodownload --force-fallback-for=libprocreact >"$work/setup.log" 2>&1 || {
    cat "$work/setup.log"
    echo "check-subproject: FAIL: meson setup of the superproject"
    exit 1
}
"$meson" compile -C "$work/build" >"$work/compile.log" 2>&1 || {
    cat "$work/compile.log"
    echo "check-subproject: FAIL: building the client"
    exit 1
}
"$work/build/client"
echo "check-subproject: OK: dependency('libprocreact') from a subproject built and ran a client"
