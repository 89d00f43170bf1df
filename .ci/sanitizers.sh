#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the whole test suite (except the multi-GiB 'slow' suite) under
#   1. AddressSanitizer + UndefinedBehaviorSanitizer  (build-asan)
#   2. ThreadSanitizer                                 (build-tsan)
#   3. valgrind memcheck, leak check full              (build-vg)
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
    setup build-vg
    suites=("${compiled[@]}")
    # The multithreaded suites fork children whose memory is referenced only
    # from the stacks of threads that do not exist in the child: memcheck
    # reports it as definitely lost when the child _exit()s and, with
    # --error-exitcode, replaces the child's exit code, which these tests
    # check. They run in a second pass where memory errors still fail but
    # leaks do not.
    mt=(threads foreign forkmt)
    vg="valgrind --error-exitcode=66 --leak-check=full --child-silent-after-fork=yes --track-fds=no"
    vg="$vg --track-origins=no --num-callers=30 --quiet"
    no_mt=()
    for s in "${mt[@]}"; do no_mt+=(--no-suite "$s"); done
    if meson test -C build-vg --setup valgrind --list >/dev/null 2>&1; then
      # the project's own setup (tests/meson.build)
      HARDENING_SCALE=20 run_tests build-vg --setup valgrind "${suites[@]}" "${no_mt[@]}" \
        --timeout-multiplier 4 || status=1
    else
      HARDENING_SCALE=20 run_tests build-vg --wrapper "$vg --errors-for-leak-kinds=definite,indirect" \
        "${suites[@]}" "${no_mt[@]}" --timeout-multiplier 4 || status=1
    fi
    mt_suites=()
    for s in "${mt[@]}"; do mt_suites+=(--suite "$s"); done
    HARDENING_SCALE=20 run_tests build-vg --wrapper "$vg --errors-for-leak-kinds=none" "${mt_suites[@]}" \
      --timeout-multiplier 4 || status=1
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
