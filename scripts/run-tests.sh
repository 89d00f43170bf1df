#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Quick start, step 2: the full test suite (every suite that `meson test`
# runs by default). Builds first if needed. Extra arguments go to meson test,
# e.g. `scripts/run-tests.sh --suite unit` or `--setup valgrind`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -f build/build.ninja ]]; then
    scripts/install-deps.sh
    meson setup build
fi
meson compile -C build
meson test -C build --print-errorlogs --num-processes 2 "$@"
