#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the binding's pytest suite.
#   build:   the package from the source tree, the library from the build tree
#   install: `meson install` into a scratch DESTDIR, then the installed
#            package with the installed library (found by soname)
# Usage: run-pytest.sh build|install PYTHON SOURCE_DIR BUILD_ROOT LIBRARY
set -euo pipefail
mode=$1 python=$2 source=$3 build=$4 library=$5
case $mode in
build)
    export PYTHONPATH=$source PROCREACT_LIBRARY=$library
    ;;
install)
    dest=$(mktemp -d)
    trap 'rm -rf "$dest"' EXIT
    meson install -C "$build" --destdir "$dest" --no-rebuild --quiet --skip-subprojects >"$dest.log" 2>&1 ||
        { cat "$dest.log"; rm -f "$dest.log"; exit 1; }
    rm -f "$dest.log"
    init=$(find "$dest" -path '*/procreact/__init__.py' | head -1)
    [[ -n $init ]] || { echo "run-pytest: the package was not installed"; exit 1; }
    lib=$(find "$dest" -name 'libprocreact.so.0' | head -1)
    [[ -n $lib ]] || { echo "run-pytest: the library was not installed"; exit 1; }
    export PYTHONPATH=$(dirname "$(dirname "$init")")
    export LD_LIBRARY_PATH=$(dirname "$lib")
    unset PROCREACT_LIBRARY
    # The installed package must be the one imported.
    "$python" -c "import procreact, sys; assert procreact.__file__.startswith('$dest'), procreact.__file__"
    ;;
*)
    echo "usage: run-pytest.sh build|install PYTHON SOURCE_DIR BUILD_ROOT LIBRARY" >&2
    exit 2
    ;;
esac
cd "$source"
exec "$python" -m pytest -q -p no:cacheprovider tests
