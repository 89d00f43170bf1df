# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: MIT
# Shared helpers of the procreact-run shell tests: TAP output and timing.
# Sourced after `run` is set; defines work, marker, py and the check helpers
# (used by the scripts that source it, hence SC2034 off).
py=/usr/bin/python3
[[ -x $py ]] || py=python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
marker="procreact-run-test-$$"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for line in "$@"; do echo "# $line"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "command: $*"; fi; }
now() { date +%s.%N; }
elapsed_between() { awk -v a="$1" -v b="$2" -v lo="$3" -v hi="$4" 'BEGIN { d = b - a; exit !(d >= lo && d < hi) }'; }
# Waits up to $2 seconds for process $1 to be gone; fails if it is still there.
wait_gone() {
    local pid=$1 tries
    tries=$(awk -v s="$2" 'BEGIN { print int(s * 20) }')
    while ((tries-- > 0)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    return 1
}
# Ends the TAP stream: the plan, and a failing status when a check failed.
finish() {
    echo "1..$n"
    if ((failed > 0)); then
        echo "# $failed of $n checks failed"
        exit 1
    fi
    exit 0
}
