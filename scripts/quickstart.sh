#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Quick start, step 1: install what is missing, build, run the demos.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then
    meson setup build
fi
meson compile -C build
echo
./build/examples/procreact-demo
echo
./build/examples/procreact-pool-demo
