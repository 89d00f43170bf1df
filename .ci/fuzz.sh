#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Builds the libFuzzer targets in fuzz/ with clang (-fsanitize=fuzzer plus
# AddressSanitizer and UndefinedBehaviorSanitizer, the library's sources
# compiled in) and runs each for FUZZ_SECONDS (default 30) from a copy of the
# committed seed corpus. Exits non-zero when a target finds a failure; the
# crashing input is left in build-fuzz/artifacts/.
#
# Needs clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev).
# Usage: bash .ci/fuzz.sh [target ...]      (targets: split types channel)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
out=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
CC=${FUZZ_CC:-clang}
CXX=${FUZZ_CXX:-clang++}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(split types channel)

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
mkdir -p "$out/obj" "$out/artifacts"

echo "== building the library for fuzzing"
# The version procreact_version() reports, as Meson passes it.
version=$(sed -n "s/^  version : '\([0-9.]*\)',$/\1/p" meson.build | head -1)
objs=()
for src in src/*.cpp src/*/*.cpp; do
  obj="$out/obj/$(basename "$src" .cpp).o"
  "$CXX" -std=c++17 $san -fsanitize=fuzzer-no-link -DPROCREACT_BUILDING_LIBRARY -DPROCREACT_VERSION="\"$version\"" \
    -Iinclude -Isrc -c "$src" -o "$obj"
  objs+=("$obj")
done

status=0
for t in "${targets[@]}"; do
  echo "== fuzz_$t"
  "$CC" -std=c11 -D_GNU_SOURCE $san -fsanitize=fuzzer -Iinclude -Ifuzz \
    -c "fuzz/fuzz_$t.c" -o "$out/obj/fuzz_$t.o"
  "$CXX" $san -fsanitize=fuzzer "$out/obj/fuzz_$t.o" "${objs[@]}" -lpthread -o "$out/fuzz_$t"
  work="$out/corpus-$t"
  rm -rf "$work"
  mkdir -p "$work"
  cp "fuzz/corpus/$t/"* "$work/"
  log="$out/fuzz_$t.log"
  set +e
  "$out/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="$out/artifacts/$t-" -print_final_stats=1 "$work" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*(DONE|cov))' "$log" | tail -n 4 || true
  if [ $rc -ne 0 ]; then
    echo "fuzz_$t FAILED (exit $rc); last lines of $log:"
    tail -n 40 "$log"
    status=1
  fi
done
exit $status
