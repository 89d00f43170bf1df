#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the whole test suite (except the multi-GiB 'slow' suite) under
#   1. AddressSanitizer + UndefinedBehaviorSanitizer  (build-asan)
#   2. ThreadSanitizer                                 (build-tsan)
#   3. valgrind memcheck, leak check full              (build-vg, debugoptimized)
# and fails on the first sanitizer report, valgrind error or test failure.
# Self-contained: run it from a fresh clone with `bash .ci/sanitizers.sh`.
# Select steps with SANITIZERS="asan tsan valgrind" (the default is all three).
#
# The hardening suites read HARDENING_SCALE (iteration counts are divided by
# it) so that the instrumented runs stay well under 30 minutes on 2 cores.
# gcc is used for ASan and TSan: the library links with -Wl,--no-undefined,
# which gcc's shared sanitizer runtimes satisfy and clang's static ones do not.
set -euo pipefail

cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
steps=${SANITIZERS:-"asan tsan valgrind"}
common=(-Dexamples=false -Dbench=false -Ddocs=disabled -Dtests=enabled -Dbuildtype=debug)

setup() { # dir, extra meson args...
  local dir=$1
  shift
  if [ -d "$dir/meson-private" ]; then
    meson setup --reconfigure "$dir" "${common[@]}" "$@" >/dev/null
  else
    meson setup "$dir" "${common[@]}" "$@" >/dev/null
  fi
  ninja -C "$dir" -j"$jobs"
}

run_tests() { # dir, extra meson test args...
  local dir=$1
  shift
  if ! meson test -C "$dir" --no-rebuild --no-suite slow --num-processes "$jobs" --print-errorlogs "$@"; then
    echo "FAILED: tests in $dir (see $dir/meson-logs/testlog*.txt)"
    return 1
  fi
}

# Only the suites that run compiled test programs: the script-based ones
# (client, packaging, abi) build and run clients that know nothing of the
# sanitizer runtimes; they run in the plain build.
compiled=(--suite unit --suite unit-fallback --suite hardening)
# pool-hard makes chosen allocations fail through a test-only malloc()
# interposer (tests/hardening/mallocfail.c). Each of the three tools puts
# its own allocator in front of it (ASan's and TSan's interceptors,
# valgrind's replacement), so there it would test the tool, not the
# library: it runs in the plain build (scripts/run-tests.sh) only.
compiled+=(--no-suite pool-hard)

status=0
start=$SECONDS

for step in $steps; do
  t0=$SECONDS
  case $step in
  asan)
    echo "==== AddressSanitizer + UndefinedBehaviorSanitizer"
    CC=gcc CXX=g++ setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
    # forkmt is left out here: gcc 12's libasan does not take its allocator
    # locks across fork(), so a child forked while another thread is inside
    # malloc can hang in the ASan allocator (seen: SizeClassAllocator64::
    # GetFromAllocator in the child). That is the sanitizer runtime, not the
    # library; forkmt runs under TSan and valgrind below, and in the plain build.
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      HARDENING_SCALE=5 \
      run_tests build-asan "${compiled[@]}" --no-suite forkmt || status=1
    ;;
  tsan)
    echo "==== ThreadSanitizer"
    CC=gcc CXX=g++ setup build-tsan -Db_sanitize=thread -Db_lundef=false
    # halt_on_error makes the first data race fail its test; die_after_fork=0
    # lets children of multithreaded tests run (they create no threads).
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0 \
    HARDENING_SCALE=10 \
      run_tests build-tsan "${compiled[@]}" || status=1
    ;;
  valgrind)
    echo "==== valgrind memcheck"
    # debugoptimized, as users build it: the optimizer is what leaves a
    # pointer only in a register, which the leak check of an exiting child
    # used to see as lost (issue 14). The flags are the project's own test
    # setups (tests/meson.build), used as they are.
    setup build-vg -Dbuildtype=debugoptimized
    if ! meson test -C build-vg --setup valgrind --list >/dev/null 2>&1; then
      echo "FAILED: no valgrind test setup in build-vg (is valgrind installed?)"
      status=1
      continue
    fi
    HARDENING_SCALE=20 run_tests build-vg --setup valgrind "${compiled[@]}" || status=1
    ;;
  *)
    echo "unknown step: $step" >&2
    status=1
    ;;
  esac
  echo "---- $step took $((SECONDS - t0)) s"
done

echo "==== sanitizers: $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
exit $status
