#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Quick start, step 2: the full test suite, the multi-GiB 'slow' suite
# included (`--setup full`; a plain `meson test` leaves that one out). Builds
# first if needed. Extra arguments go to meson test, e.g.
# `scripts/run-tests.sh --suite unit`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -f build/build.ninja ]]; then
    scripts/install-deps.sh
    meson setup build
fi
meson compile -C build
meson test -C build --setup full --print-errorlogs --num-processes 2 "$@"
