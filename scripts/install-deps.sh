#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs the Debian packages procreact needs, and only those that are
# missing (dpkg-query decides). Without arguments: what building, the demo
# and the test suite need. With --ci: also what .ci/run uses (sanitizers,
# fuzzing, ABI gate, Debian packaging).
set -euo pipefail

base=(g++ gcc meson ninja-build pkg-config libcmocka-dev doxygen libglib2.0-dev libuv1-dev valgrind python3 python3-pytest python3-mypy python3-venv python3-pip python3-setuptools parallel time procps)
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
