#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# procreact-run stops when it should and holds bounded memory (issue 18's
# defects). Usage: test-procreact-run-stops.sh PROCREACT_RUN. Prints TAP.
set -u
run=${1:?usage: test-procreact-run-stops.sh PROCREACT_RUN}
here=$(dirname "$0")
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

# --- 1. a reader that leaves (EPIPE) ends the run quietly, jobs stopped
start=$(now)
seq 60 | "$run" -k -j 2 -- sh -c "sleep 0.25; echo {} # $marker-pipe" 2>"$work/err" | head -1 >"$work/out"
status=("${PIPESTATUS[@]}")
end=$(now)
check "| head -1 ends the run within 1 s" elapsed_between "$start" "$end" 0 1.0
check "a closed output gives status 141 (128 + SIGPIPE)" test "${status[1]}" -eq 141
check "a closed output is not reported" test ! -s "$work/err"
check "head got the first result" test "$(cat "$work/out")" = 1
check "no job is left behind after EPIPE" test -z "$(pgrep -f "$marker-pipe")"
start=$(now)
seq 60 | "$run" -j 2 -- sh -c "sleep 0.25 # $marker-quiet {}" | true
end=$(now)
check "a reader that leaves ends the run even when jobs print nothing" elapsed_between "$start" "$end" 0 1.0
check "no quiet job is left behind" test -z "$(pgrep -f "$marker-quiet")"

# --- 2. signals and --timeout act while the input is open but idle
mkfifo "$work/fifo"
for sig in TERM INT; do
    set -m
    "$run" <"$work/fifo" >/dev/null 2>&1 &
    pid=$!
    set +m
    exec 7>"$work/fifo"
    echo "exec sleep 100 # $marker-idle-$sig" >&7
    sleep 0.5
    start=$(now)
    kill -"$sig" "$pid"
    wait_gone "$pid" 3
    end=$(now)
    exec 7>&-
    wait "$pid"
    rc=$?
    check "SIG$sig with idle input ends the run within 1 s" elapsed_between "$start" "$end" 0 1.0
    [[ $sig = TERM ]] && expect=143 || expect=130
    check "SIG$sig with idle input gives status $expect" test "$rc" -eq "$expect"
    check "no job is left behind after SIG$sig with idle input" test -z "$(pgrep -f "$marker-idle-$sig")"
done
"$run" --timeout 0.3 <"$work/fifo" >/dev/null 2>"$work/err" &
pid=$!
exec 7>"$work/fifo"
echo "exec sleep 100 # $marker-idle-timeout" >&7
sleep 1.2
check "--timeout stops a job while the input is idle" grep -q "timed out" "$work/err"
check "--timeout leaves no job while the input is idle" test -z "$(pgrep -f "$marker-idle-timeout")"
exec 7>&-
wait "$pid"
check "the run ends with the input, the timed-out job failed" test $? -eq 1

# A second signal does not wait for the grace period: SIGKILL at once.
set -m
"$run" --kill-after 30 -- sh -c "trap '' TERM; sh -c 'sleep 100' $marker-twice-grandchild & while :; do sleep 0.05; done # $marker-twice" ::: 1 >/dev/null 2>&1 &
pid=$!
set +m
sleep 0.5
kill -INT "$pid"
sleep 0.3
start=$(now)
kill -INT "$pid"
wait_gone "$pid" 3
end=$(now)
wait "$pid"
rc=$?
check "a second SIGINT ends the run at once" elapsed_between "$start" "$end" 0 1.0
check "a second SIGINT: status 130" test "$rc" -eq 130
sleep 0.2
check "a second SIGINT leaves no job behind, its group too" test -z "$(pgrep -f "$marker-twice")"

# A reader that stays but reads nothing: after SIGTERM the run gives up
# writing within about a second instead of waiting for it forever.
mkfifo "$work/stuck"
# shellcheck disable=SC2217 # the reader holds the fifo open and reads nothing
sleep 10 <"$work/stuck" &
reader=$!
"$run" -- sh -c "head -c 1000000 /dev/zero; sleep 100 # $marker-stuck" ::: 1 2 >"$work/stuck" 2>/dev/null &
pid=$!
sleep 0.7
start=$(now)
kill -TERM "$pid"
wait_gone "$pid" 5
end=$(now)
wait "$pid"
rc=$?
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
check "SIGTERM with a stuck reader ends the run within 2.5 s" elapsed_between "$start" "$end" 0 2.5
check "SIGTERM with a stuck reader gives status 143" test "$rc" -eq 143
check "no job is left behind with a stuck reader" test -z "$(pgrep -f "$marker-stuck")"

# --- 3. grouped output holds a bounded amount in memory
if [[ -x /usr/bin/time ]]; then
    big=200000000
    printf 'head -c %d /dev/zero\n' "$big" "$big" >"$work/big"
    TMPDIR=$work /usr/bin/time -v -o "$work/time" "$run" -j 2 <"$work/big" | wc -c >"$work/count"
    rss=$(awk -F: '/Maximum resident/ { print $2 + 0 }' "$work/time")
    check "two jobs of 200 MB output: peak RSS under 64 MiB (peak ${rss} KiB)" test "$rss" -lt 65536
    check "two jobs of 200 MB output: every byte printed" test "$(cat "$work/count")" -eq $((2 * big))
    check "the spool files are gone" test -z "$(find "$work" -maxdepth 1 -name 'procreact-run*')"
    printf 'head -c %d /dev/zero >&2\n' "$big" "$big" >"$work/big"
    TMPDIR=$work /usr/bin/time -v -o "$work/time" "$run" -j 2 <"$work/big" 2>&1 >/dev/null | wc -c >"$work/count"
    rss=$(awk -F: '/Maximum resident/ { print $2 + 0 }' "$work/time")
    check "two jobs of 200 MB on stderr: peak RSS under 64 MiB (peak ${rss} KiB)" test "$rss" -lt 65536
    check "two jobs of 200 MB on stderr: every byte printed" test "$(cat "$work/count")" -eq $((2 * big))
    printf 'yes | head -c %d\n' 50000000 50000000 >"$work/big"
    TMPDIR=$work /usr/bin/time -v -o "$work/time" "$run" -j 2 --json <"$work/big" >"$work/json"
    rss=$(awk -F: '/Maximum resident/ { print $2 + 0 }' "$work/time")
    check "--json with 2 x 50 MB output: peak RSS under 64 MiB (peak ${rss} KiB)" test "$rss" -lt 65536
    check "--json with 2 x 50 MB output: the JSON holds every byte" "$py" -c '
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 2 and all(r["stdout"] == "y\n" * 25000000 for r in rows)' "$work/json"
    rm -f "$work/json"
else
    ok "# SKIP /usr/bin/time (Debian package time) is not installed: no peak RSS to measure"
fi
# A spilled stream is read back in pieces: a UTF-8 sequence cut between two
# pieces stays one character, and bad bytes still become U+FFFD.
"$run" --json -- "$py" -c '
import sys
sys.stdout.buffer.write(b"x" + "\u00e9\u20ac".encode() * 100000 + b"\xff")' ::: 1 >"$work/json"
check "--json keeps UTF-8 whole across the spool's pieces" "$py" -c '
import json, sys
row = json.loads(open(sys.argv[1], encoding="utf-8").read())
assert row["stdout"] == "x" + "\u00e9\u20ac" * 100000 + "\ufffd", len(row["stdout"])' "$work/json"

# --- 4. -j beyond the descriptor limit is lowered, with a warning
(ulimit -n 128 && seq 100 | "$run" -j 100000 -- sh -c 'sleep 0.2; echo {}') >"$work/out" 2>"$work/err"
rc=$?
check "-j 100000 under ulimit -n 128: every job succeeds" test "$rc" -eq 0
check "-j 100000 under ulimit -n 128: every result printed" test "$(sort -n "$work/out" | tr '\n' ' ')" = "$(seq 100 | tr '\n' ' ')"
check "-j 100000 under ulimit -n 128: a warning says -j was lowered" grep -q "warning: .*-j" "$work/err"

# Finished jobs that wait for their turn (-k) hold spool files: the run
# waits rather than running out of descriptors.
(ulimit -n 64 && { echo 'sleep 1; echo first'; for i in $(seq 60); do echo "head -c 300000 /dev/zero; echo $i"; done; } |
    TMPDIR=$work "$run" -k -j 100000) >"$work/out" 2>"$work/err"
rc=$?
check "-k with spilled output waiting under ulimit -n 64: every job succeeds" test "$rc" -eq 0
check "-k with spilled output waiting under ulimit -n 64: every byte printed" test "$(wc -c <"$work/out")" -eq $((60 * 300000 + 6 + 9 * 2 + 51 * 3))
check "-k with spilled output waiting under ulimit -n 64: nothing lost" test ! -s "$work/err" -o "$(grep -vc warning "$work/err")" -eq 0

# --- 5. --timeout 0 is no timeout; a NUL byte in an input line is refused
echo "sleep 0.3" | "$run" --timeout 0 >/dev/null 2>"$work/err"
rc=$?
check "--timeout 0 means no timeout" test "$rc" -eq 0
check "--timeout 0 times nothing out" test ! -s "$work/err"
printf 'echo a\0b\necho ok\n' | "$run" -k >"$work/out" 2>"$work/err"
rc=$?
check "a line with a NUL byte is refused, the others run" test "$(cat "$work/out")" = ok
check "a line with a NUL byte is reported" grep -q "line 1: NUL byte" "$work/err"
check "a refused line makes the exit status 1" test "$rc" -eq 1

finish
