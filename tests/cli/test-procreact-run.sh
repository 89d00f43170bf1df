#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# procreact-run as a user runs it. Usage: test-procreact-run.sh PROCREACT_RUN
# Prints TAP; exits non-zero when a check fails.
set -u
run=${1:?usage: test-procreact-run.sh PROCREACT_RUN}
here=$(dirname "$0")
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

# --- shell mode: every line runs through sh -c; empty lines are skipped
printf 'echo one\n\necho two; exit 0\n' | "$run" -j 2 >"$work/out" 2>"$work/err"
rc=$?
check "shell mode exits 0 when every job succeeds" test "$rc" -eq 0
check "shell mode runs every non-empty line" test "$(sort "$work/out" | tr '\n' ' ')" = "one two "

# --- -- mode: {} replaced in every argument, no shell
printf 'a b\nc;d\n' | "$run" -k -- printf '<%s|%s>\n' '{}' 'x{}y' >"$work/out"
check "{} is replaced in each argument without a shell" \
    test "$(cat "$work/out")" = "$(printf '<a b|xa by>\n<c;d|xc;dy>')"
printf 'p\nq\n' | "$run" -k -- echo first >"$work/out"
check "without {} the line is the last argument" test "$(cat "$work/out")" = "$(printf 'first p\nfirst q')"

# --- -j: never more than N at once
mkdir "$work/slots"
for i in $(seq 1 12); do
    echo "mkdir $work/slots/run.\$\$ && ls $work/slots | wc -l >> $work/counts; sleep 0.1; rmdir $work/slots/run.\$\$"
done | "$run" -j 3
check "-j 3 runs at most 3 at once" test "$(sort -n "$work/counts" | tail -1)" -le 3
check "-j 3 runs 3 at once" test "$(sort -n "$work/counts" | tail -1)" -ge 2

# --- --keep-order: input order although they end in reverse
printf '0.4\n0.2\n0\n' | "$run" -j 3 --keep-order -- sh -c 'sleep $0; echo $0' '{}' >"$work/out"
check "--keep-order prints in input order" test "$(tr '\n' ' ' <"$work/out")" = "0.4 0.2 0 "
printf '0.4\n0.2\n0\n' | "$run" -j 3 -- sh -c 'sleep $0; echo $0' '{}' >"$work/out"
check "without --keep-order results come as jobs end" test "$(tr '\n' ' ' <"$work/out")" = "0 0.2 0.4 "

# --- grouped output: each job's lines stay together
for j in a b c d; do echo "for i in \$(seq 1 300); do echo $j\$i; done"; done | "$run" -j 4 >"$work/out"
grouped=1
for j in a b c d; do
    first=$(grep -n "^$j" "$work/out" | head -1 | cut -d: -f1)
    last=$(grep -n "^$j" "$work/out" | tail -1 | cut -d: -f1)
    [[ $((last - first)) -eq 299 ]] || grouped=0
done
check "output is grouped per job, never interleaved" test "$grouped" -eq 1

# Grouped output goes through pipes that the slot's later jobs reuse: one
# job at a time, a long output, then shorter ones, none, and one past what a
# pipe holds and a spool keeps in memory (300,000 bytes), each on stdout (x)
# and stderr (e).
sizes="100 3 0 300000 5 0 7"
# shellcheck disable=SC2086
printf '%s\n' $sizes | "$run" -j 1 -k -- sh -c \
    'head -c "$0" /dev/zero | tr "\0" x; echo; head -c "$0" /dev/zero | tr "\0" e >&2; echo >&2' '{}' \
    >"$work/out" 2>"$work/err"
check "a reused pipe holds none of an earlier job's stdout" \
    test "$(awk '{ print length($0) }' "$work/out" | tr '\n' ' ')" = "$sizes "
check "a reused pipe holds none of an earlier job's stderr" \
    test "$(awk '{ print length($0) }' "$work/err" | tr '\n' ' ')" = "$sizes "
check "stdout and stderr stay apart" test -z "$(tr -d 'x\n' <"$work/out")$(tr -d 'e\n' <"$work/err")"
# A job that reopens its stdout (as a file would be: truncated, written from
# its start) loses nothing.
printf 'a\nb\n' | "$run" -j 1 -k -- sh -c 'echo one-{}; echo two-{} 1<>/dev/stdout; cat /dev/stdout >/dev/null' \
    >"$work/out" 2>&1
check "a job that reopens or reads its stdout keeps its lines" \
    test "$(tr '\n' ' ' <"$work/out")" = "one-a two-a one-b two-b "
# A process that outlives its job keeps writing to the job's output, not to
# the next job's in the same slot, and the run goes on meanwhile.
printf '1\n2\n' | "$run" -j 1 -- sh -c \
    'if [ {} = 1 ]; then (sleep 0.5; echo late-{}; echo late-err-{} >&2) & fi; echo now-{}; echo err-{} >&2' \
    >"$work/out" 2>"$work/err"
check "output a job's leftover process writes later stays with that job" \
    test "$(tr '\n' ' ' <"$work/out")/$(tr '\n' ' ' <"$work/err")" = "now-2 now-1 late-1 /err-2 err-1 late-err-1 "
marker=procreact-leftover-$$
echo 1 | "$run" -- sh -c "(sleep 30; echo $marker) & echo now" >"$work/out" &
pid=$!
sleep 0.5
kill -INT "$pid"
wait "$pid"
rc=$?
check "SIGINT ends a run that waits for a job's leftover process (130)" test "$rc" -eq 130
check "SIGINT stops the job's leftover process too" test -z "$(pgrep -f "$marker")"

# --- exit statuses and exec failures
printf 'exit 0\nexit 3\n' | "$run" >/dev/null 2>&1
check "a failing job makes the exit status 1" test $? -eq 1
echo x | "$run" -- procreact-no-such-program-$$ >/dev/null 2>"$work/err"
rc=$?
check "a program that cannot run fails the run" test "$rc" -eq 1
check "the exec failure is reported" grep -q "cannot run 'procreact-no-such-program-$$ x': No such file or directory" "$work/err"
"$run" --jobs many </dev/null >/dev/null 2>&1
check "a bad option value is a usage error (2)" test $? -eq 2
"$run" --no-such-option </dev/null >/dev/null 2>&1
check "an unknown option is a usage error (2)" test $? -eq 2
"$run" --help | grep -q -- '--timeout'
check "--help documents the options" test $? -eq 0

# --- --timeout and --kill-after
start=$(now)
echo "exec sleep 100 # $marker" | "$run" --timeout 0.3 >/dev/null 2>"$work/err"
rc=$?
end=$(now)
check "a timed-out job fails the run" test "$rc" -eq 1
check "a timed-out job is reported" grep -q "timed out" "$work/err"
check "the timeout stops the job on time" elapsed_between "$start" "$end" 0.25 2.0
start=$(now)
echo "trap '' TERM; while :; do sleep 0.05; done # $marker" | "$run" --timeout 0.2 --kill-after 0.5 >/dev/null 2>&1
end=$(now)
check "a job that ignores SIGTERM is killed after --kill-after" elapsed_between "$start" "$end" 0.65 3.0
echo "sleep 100 & echo \$! > $work/grandchild; wait # $marker" | "$run" --timeout 0.3 >/dev/null 2>&1
gc=$(cat "$work/grandchild")
sleep 0.3
# Gone, or a zombie waiting for init to reap it: not running any more.
check "the job's process group is stopped (its grandchild too)" \
    bash -c "! grep -qE '^State:[[:space:]]+[RSDT]' /proc/$gc/status 2>/dev/null"

# --- --json: valid JSON for any bytes
{
    echo "printf 'plain \"quoted\" \\\\ back\\n'"
    echo "printf '\\377\\376 bad utf-8 \\303\\251 good \\001 ctl'"
    echo "head -c 3000 /dev/urandom"
    echo "echo err >&2; exit 4"
    echo "exec sleep 100"
} | "$run" --json --keep-order --timeout 0.3 -- sh -c '{}' >"$work/json"
cat >"$work/check.py" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 5, rows
keys = {"index", "command", "exit_code", "signal", "timed_out", "exec_errno", "wall_ms", "cpu_ms",
        "max_rss_kib", "stdout", "stderr"}
for i, row in enumerate(rows):
    assert set(row) == keys, row.keys()
    assert row["index"] == i
assert rows[0]["stdout"] == 'plain "quoted" \\ back\n', rows[0]
assert rows[1]["stdout"] == "\ufffd\ufffd bad utf-8 \u00e9 good \u0001 ctl", rows[1]
assert rows[3]["exit_code"] == 4 and rows[3]["stderr"] == "err\n" and rows[3]["signal"] is None
assert rows[4]["timed_out"] is True and rows[4]["exit_code"] is None and rows[4]["signal"] == 15
assert rows[0]["exit_code"] == 0 and rows[0]["exec_errno"] == 0 and rows[0]["timed_out"] is False
assert all(r["wall_ms"] >= 0 and r["cpu_ms"] >= 0 and r["max_rss_kib"] > 0 for r in rows)
PY
check "--json is valid JSON for any bytes, with every field" "$py" "$work/check.py" "$work/json"
echo x | "$run" --json -- procreact-no-such-program-$$ >"$work/json"
check "--json reports exec_errno (ENOENT = 2)" "$py" -c \
    'import json,sys; r=json.loads(open(sys.argv[1]).read()); assert r["exec_errno"]==2 and r["exit_code"] is None' "$work/json"

# --- --halt-on-error: no more jobs start after the first failure
printf 'exit 1\nsleep 1; echo late1\nsleep 1; echo late2\necho never1\necho never2\n' |
    "$run" -j 3 --halt-on-error --kill-after 0.1 >"$work/out" 2>/dev/null
rc=$?
check "--halt-on-error exits 1" test "$rc" -eq 1
check "--halt-on-error starts nothing after the failure" test "$(grep -c never "$work/out")" -eq 0
check "--halt-on-error stops the running jobs" test "$(grep -c late "$work/out")" -eq 0

# --- PROCREACT_SPAWN_THREADS: ignored (our next() does not claim its job
# before it spawns), so every job runs once, and the jobs do not see it
seq 1 60 | PROCREACT_SPAWN_THREADS=4 "$run" -j 8 -- sh -c 'echo $0 ${PROCREACT_SPAWN_THREADS:-unset}' '{}' >"$work/out"
check "PROCREACT_SPAWN_THREADS: every job runs once" test "$(sort -n "$work/out" | cut -d' ' -f1 | tr '\n' ' ')" = "$(seq 1 60 | tr '\n' ' ')"
check "PROCREACT_SPAWN_THREADS is not in the jobs' environment" test "$(cut -d' ' -f2 "$work/out" | sort -u)" = unset

# --- Ctrl-C: SIGINT to the process group stops every job, none is left
set -m
for i in 1 2 3 4 5 6; do echo "exec sleep 100 # $marker-int"; done | "$run" -j 4 >/dev/null 2>&1 &
pgid=$!
set +m
sleep 0.5
kill -INT -- "-$pgid"
wait "$pgid"
rc=$?
check "SIGINT stops the run with status 130" test "$rc" -eq 130
sleep 0.2
check "no job is left behind after SIGINT" test -z "$(pgrep -f "$marker-int")"

finish
