#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs the Debian packages procreact needs, and only those that are
# missing (dpkg-query decides). Without arguments: what building, the demo
# and the test suite need. With --ci: also what .ci/run uses (sanitizers,
# fuzzing, ABI gate, Debian packaging). With --bench: Bun from the npm
# registry, a benchmark-only dependency (bench/bench_channel_node.js compares
# with it), into build-bench-deps/ (PROCREACT_BENCH_DEPS to change it); Node
# comes from Debian (nodejs, npm).
set -euo pipefail

if [[ ${1:-} == --bench ]]; then
    deps=${PROCREACT_BENCH_DEPS:-$(cd "$(dirname "$0")/.." && pwd)/build-bench-deps}
    command -v npm >/dev/null || { echo "install-deps: npm is needed for --bench (Debian: npm)" >&2; exit 1; }
    if [[ -x $deps/node_modules/.bin/bun ]]; then
        echo "install-deps: bun present in $deps"
    else
        npm install --prefix "$deps" --no-audit --no-fund bun@1
    fi
    echo "install-deps: run: $deps/node_modules/.bin/bun bench/bench_channel_node.js"
    exit 0
fi

base=(g++ gcc meson ninja-build pkg-config libcmocka-dev doxygen libglib2.0-dev libuv1-dev valgrind python3 python3-pytest python3-mypy python3-venv python3-pip python3-setuptools parallel time procps python3-matplotlib)
ci=(clang dh-python libclang-rt-14-dev abigail-tools debhelper dpkg-dev fakeroot lintian devscripts git mmdebstrap arch-test diffoscope-minimal)

wanted=("${base[@]}")
if [[ ${1:-} == --ci ]]; then
    wanted+=("${ci[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#wanted[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
