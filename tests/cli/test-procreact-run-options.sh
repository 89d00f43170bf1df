#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# procreact-run's xargs and GNU parallel options, run as a user runs them,
# compared with GNU parallel where it is installed.
# Usage: test-procreact-run-options.sh PROCREACT_RUN. Prints TAP.
# The replacement strings ({}, {.}...) are literal words for procreact-run, and
# the single-quoted $ are for the jobs' shells.
# shellcheck disable=SC1083,SC2016
set -u
run=${1:?usage: test-procreact-run-options.sh PROCREACT_RUN}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
have_parallel=0
parallel --will-cite --version >/dev/null 2>&1 && have_parallel=1

# same NAME EXPECTED OUR-COMMAND... : our output is EXPECTED; and, when
# PARALLEL_ARGS is set, GNU parallel's output for them is EXPECTED too.
same() {
    local name=$1 expected=$2 got
    shift 2
    got=$("$@" 2>&1)
    if [[ $got == "$expected" ]]; then ok "$name"; else not_ok "$name" "expected: $expected" "got: $got"; fi
    if [[ -n ${PARALLEL_ARGS-} ]] && ((have_parallel)); then
        got=$(eval "parallel --will-cite $PARALLEL_ARGS" 2>&1)
        if [[ $got == "$expected" ]]; then ok "$name: as GNU parallel"; else not_ok "$name: as GNU parallel" "parallel: $got"; fi
    fi
}

# --- ::: lists and their combinations (the last list turns fastest)
PARALLEL_ARGS="-k echo ::: a b ::: 1 2" \
    same "::: lists combine" "$(printf 'a 1\na 2\nb 1\nb 2')" "$run" -k echo ::: a b ::: 1 2
PARALLEL_ARGS="-k echo ::: x y" same "::: without a program's {} appends the item" "$(printf 'x\ny')" "$run" -k echo ::: x y
same "::: without a program: the items are shell commands" "$(printf 'A\nB')" "$run" -k ::: 'echo A' 'echo B'
printf '1\n2\n' >"$work/a"
printf 'x\ny\n' >"$work/b"
PARALLEL_ARGS="-k -a '$work/a' -a '$work/b' echo" \
    same "-a FILE twice combines the files" "$(printf '1 x\n1 y\n2 x\n2 y')" "$run" -k -a "$work/a" -a "$work/b" echo
PARALLEL_ARGS="-k echo :::: '$work/a'" same ":::: FILE reads items from FILE" "$(printf '1\n2')" "$run" -k echo :::: "$work/a"
same "-a reads the file, not standard input" "$(printf '1\n2')" bash -c "echo no | '$run' -k -a '$work/a' echo"
"$run" -a "$work/none" echo >/dev/null 2>"$work/err"
check "-a with a missing file is a usage error" test $? -eq 2
check "-a with a missing file says which" grep -q "cannot read '$work/none'" "$work/err"

# --- -0 / --null
PARALLEL_ARGS="-0 -k printf '\"<%s>\\n\"' < <(printf 'a b\0c\nd\0')" \
    same "-0 splits at NUL, newlines are data" "$(printf '<a b>\n<c\nd>')" bash -c "printf 'a b\0c\nd\0' | '$run' -0 -k printf '<%s>\n'"

# --- -d DELIM (xargs), --colsep (GNU parallel), -r (xargs)
same "-d ';' splits at ;" "$(printf 'x\ny\nz')" bash -c "printf 'x;y;z' | '$run' -k -d ';' echo"
same "-d '\\0' is -0" "$(printf 'a b\nc')" bash -c "printf 'a b\0c\0' | '$run' -k -d '\\0' echo"
"$run" -d ab echo ::: x >/dev/null 2>&1
check "-d with more than one character is a usage error" test $? -eq 2
PARALLEL_ARGS="-k --colsep , echo {2} {1} < <(printf 'a,b\nc,d\n')" \
    same "--colsep splits each item into columns" "$(printf 'b a\nd c')" \
    bash -c "printf 'a,b\nc,d\n' | '$run' -k --colsep , echo {2} {1}"
same "--colsep '\\t' splits at tabs" "b-a" bash -c "printf 'a\tb\n' | '$run' --colsep '\\t' echo {2}-{1}"
same "-r is accepted, empty lines never run" "x" bash -c "printf '\n\nx\n' | '$run' -r echo"

# --- --pipe: blocks of whole records to the jobs' standard input
check "--pipe: every record once, whole, in order with -k" bash -c "seq 100000 | '$run' --pipe --block 50k -k cat | cmp -s - <(seq 100000)"
# 50k is 50000 bytes, 50K 51200: the whole lines that fit, as GNU parallel cuts them.
for size in 50k:10184:8333:6486 50K:10384:8533:4286; do
    IFS=: read -r block first middle last <<<"$size"
    PARALLEL_ARGS="--pipe --block $block -k wc -l < <(seq 100000)" \
        same "--pipe --block $block: blocks of whole lines up to the size" \
        "$(echo "$first"; for _ in $(seq 10); do echo "$middle"; done; echo "$last")" \
        bash -c "seq 100000 | '$run' --pipe --block $block -k wc -l"
done
check "--pipe makes several jobs" test "$(seq 100000 | "$run" --pipe --block 50k -k wc -l | wc -l)" -eq 12
"$run" --pipe </dev/null >/dev/null 2>&1
check "--pipe without a program is a usage error" test $? -eq 2

# --- replacement strings
PARALLEL_ARGS="-k echo {//} {/} {.} {/.} ::: dir/sub.d/file.tar.gz file a.b/c" \
    same "{//} {/} {.} {/.}" "$(printf 'dir/sub.d file.tar.gz dir/sub.d/file.tar file.tar\n. file file file\na.b c a.b/c c')" \
    "$run" -k echo {//} {/} {.} {/.} ::: dir/sub.d/file.tar.gz file a.b/c
PARALLEL_ARGS="-k echo {#} {} ::: a b c" same "{#} is the job number" "$(printf '1 a\n2 b\n3 c')" "$run" -k echo {#} {} ::: a b c
"$run" -j 2 echo {%} ::: a b c d e f >"$work/out"
check "{%} is a slot from 1 to -j" test "$(sort -u "$work/out" | tr '\n' ' ')" = "1 2 "
PARALLEL_ARGS="-k echo {2} {1} ::: a b ::: 1 2" same "{N} is the Nth item" "$(printf '1 a\n2 a\n1 b\n2 b')" \
    "$run" -k echo {2} {1} ::: a b ::: 1 2
same "-I STR replaces STR, {} stays" "x {}" bash -c "echo x | '$run' -I @@ echo @@ {}"
same "a replacement inside an argument, no shell" "<a b|xa by>" "$run" printf '<%s|%s>\n' {} x{}y ::: 'a b'
PARALLEL_ARGS="-k 'echo {} | tr a-z A-Z' ::: ab 'c d'" \
    same "a one-word command line with blanks runs in a shell, items quoted" "$(printf 'AB\nC D')" \
    "$run" -k 'echo {} | tr a-z A-Z' ::: ab 'c d'

# --- -n N
PARALLEL_ARGS="-k -n 2 echo {} - {1} - {2} ::: a b c d e" \
    same "-n 2 gives two items to each job" "$(printf 'a b - a - b\nc d - c - d\ne - e -')" \
    "$run" -k -n 2 echo {} - {1} - {2} ::: a b c d e
PARALLEL_ARGS="-k -N0 echo foo ::: 1 2" same "-N 0 takes an item per job and inserts none" "$(printf 'foo\nfoo')" \
    "$run" -k -N0 echo foo ::: 1 2
PARALLEL_ARGS="-k -N2 echo {2}-{1} ::: a b c" same "-N 2 is -n 2" "$(printf 'b-a\n-c')" "$run" -k -N2 echo {2}-{1} ::: a b c
same "-n 3 appends the items as arguments" "$(printf '3\n1')" bash -c "seq 4 | '$run' -k -n 3 sh -c 'echo \$#' sh"

# --- -j 0: as many as the system allows
start=$(now)
seq 30 | "$run" -j 0 -- sh -c 'sleep 0.5'
end=$(now)
check "-j 0 runs them all at once" elapsed_between "$start" "$end" 0.4 1.4
start=$(now)
"$run" -P 3 sh -c 'sleep 0.4' ::: 1 2 3
end=$(now)
check "-P N (xargs's spelling) is -j N" elapsed_between "$start" "$end" 0.35 1.0
check "-j 50% is accepted" bash -c "'$run' -j 50% true ::: 1"

# --- --tag
PARALLEL_ARGS="-k --tag echo ::: a b ::: 1 2" \
    same "--tag puts the items and a tab before each line" "$(printf 'a 1\ta 1\na 2\ta 2\nb 1\tb 1\nb 2\tb 2')" \
    "$run" -k --tag echo ::: a b ::: 1 2
PARALLEL_ARGS="-k --tagstring 'X{}-{#}' echo ::: a b" \
    same "--tagstring is the tag, with replacement strings" "$(printf 'Xa-1\ta\nXb-2\tb')" \
    "$run" -k --tagstring 'X{}-{#}' echo ::: a b
same "--tag also tags standard error" "$(printf 'x\terr')" "$run" --tag sh -c 'echo err >&2' ::: x

# --- --dry-run
PARALLEL_ARGS="-k --dry-run echo {} ::: 'a b' 'c\$d'" \
    same "--dry-run prints the commands" "$(printf "echo 'a b'\necho 'c\$d'")" "$run" --dry-run echo {} ::: 'a b' 'c$d'
"$run" --dry-run touch "$work/made-{}" ::: 1 >/dev/null
check "--dry-run runs nothing" test ! -e "$work/made-1"

# --- -t / --verbose and --delay
"$run" -k -t echo ::: 'a b' >"$work/out" 2>"$work/err"
check "-t prints each command on standard error" test "$(cat "$work/err")" = "echo 'a b'"
check "-t leaves the output alone" test "$(cat "$work/out")" = "a b"
start=$(now)
"$run" -j 3 --delay 0.3 sh -c 'date +%s.%N' ::: 1 2 3 >"$work/out"
end=$(now)
check "--delay spaces the starts" awk 'NR == 1 { a = $1 } END { exit !($1 - a >= 0.55) }' "$work/out"
check "--delay does not hold the run longer than the starts" elapsed_between "$start" "$end" 0.55 2.0
check "--progress is accepted" "$run" --progress true ::: 1

# --- --joblog and --resume
seq 3 | "$run" -k --joblog "$work/log" sh -c 'echo {}; exit $(({} % 2))' >/dev/null
check "--joblog has GNU parallel's header" test "$(head -1 "$work/log")" = "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')"
check "--joblog has a line per job, nine fields" test "$(awk -F'\t' 'NR > 1 && NF == 9' "$work/log" | wc -l)" -eq 3
check "--joblog records exit values and bytes received" test "$(awk -F'\t' 'NR > 1 { print $1, $6, $7 }' "$work/log" | sort | tr '\n' ' ')" = "1 2 1 2 2 0 3 2 1 "
seq 5 | "$run" -k --resume --joblog "$work/log" echo >"$work/out"
check "--resume skips the jobs in the log" test "$(tr '\n' ' ' <"$work/out")" = "4 5 "
check "--resume adds to the log" test "$(awk -F'\t' 'NR > 1 { print $1 }' "$work/log" | sort -n | tr '\n' ' ')" = "1 2 3 4 5 "
"$run" --line-buffer --joblog "$work/line.joblog" echo ::: hello >/dev/null
check "--joblog counts the bytes received with --line-buffer too" test "$(awk -F'\t' 'NR == 2 { print $6 }' "$work/line.joblog")" -eq 6
"$run" --resume echo ::: 1 >/dev/null 2>&1
check "--resume without --joblog is a usage error" test $? -eq 2

# --- --retries N: up to N tries in all, only the last one printed
"$run" --retries 3 sh -c "echo try >> $work/tries; exit 1" ::: x >"$work/out" 2>&1
rc=$?
check "--retries 3 tries a failing job 3 times" test "$(wc -l <"$work/tries")" -eq 3
check "--retries: a job that always fails fails the run" test "$rc" -eq 1
rm -f "$work/tries"
"$run" --retries 3 sh -c "echo try >> $work/tries; echo out; [ \$(wc -l < $work/tries) -ge 2 ]" ::: x >"$work/out"
rc=$?
check "--retries: a job that succeeds on its second try succeeds" test "$rc" -eq 0
check "--retries: only the last try is printed" test "$(cat "$work/out")" = out

# --- --halt
"$run" -j 1 --halt now,fail=1 sh -c 'echo {}; exit {}' ::: 0 1 0 0 >"$work/out" 2>/dev/null
rc=$?
check "--halt now,fail=1 starts nothing after the failure" test "$(tr '\n' ' ' <"$work/out")" = "0 1 "
check "--halt now,fail=1 exits 1" test "$rc" -eq 1
"$run" -j 2 --halt now,fail=1 --kill-after 0.1 sh -c 'sleep {}; echo {}; exit 1' ::: 0.1 2 5 >"$work/out" 2>/dev/null
check "--halt now stops the running jobs" test "$(tr '\n' ' ' <"$work/out")" = "0.1 "
"$run" -j 2 --halt soon,fail=1 sh -c 'sleep {}; echo {}; exit 1' ::: 0.1 0.5 5 >"$work/out" 2>/dev/null
check "--halt soon lets the running jobs end, starts no more" test "$(tr '\n' ' ' <"$work/out")" = "0.1 0.5 "
"$run" -j 1 --halt soon,success=1 sh -c 'echo {}; exit {}' ::: 1 0 1 1 >"$work/out" 2>/dev/null
rc=$?
check "--halt soon,success=1 stops after the first success" test "$(tr '\n' ' ' <"$work/out")" = "1 0 "
check "--halt soon,success=1 exits 0 (as GNU parallel)" test "$rc" -eq 0
"$run" -j 1 --halt now,fail=50% sh -c 'echo {}; exit {}' ::: 0 1 1 0 0 0 >"$work/out" 2>/dev/null
check "--halt now,fail=50% halts when half of at least 3 failed" test "$(tr '\n' ' ' <"$work/out")" = "0 1 1 "
"$run" --halt later,fail=1 true ::: 1 >/dev/null 2>&1
check "--halt with a bad value is a usage error" test $? -eq 2

# --- --line-buffer and --ungroup: lines as they come, not per job
job='case {} in a) echo a-1; sleep 0.6; echo a-2 ;; b) sleep 0.3; echo b-1; sleep 0.6; echo b-2 ;; esac'
"$run" -j 2 -k sh -c "$job" ::: a b >"$work/out"
check "grouped output keeps each job's lines together" test "$(tr '\n' ' ' <"$work/out")" = "a-1 a-2 b-1 b-2 "
"$run" -j 2 --line-buffer sh -c "$job" ::: a b >"$work/out"
check "--line-buffer prints lines as they come" test "$(tr '\n' ' ' <"$work/out")" = "a-1 b-1 a-2 b-2 "
"$run" -j 2 --line-buffer --tag sh -c "$job" ::: a b >"$work/out"
check "--line-buffer --tag tags each line" test "$(tr '\t\n' ': ' <"$work/out")" = "a:a-1 b:b-1 a:a-2 b:b-2 "
"$run" -j 2 -u sh -c "$job" ::: a b >"$work/out"
check "--ungroup prints output as it comes" test "$(tr '\n' ' ' <"$work/out")" = "a-1 b-1 a-2 b-2 "
"$run" -j 3 -u --joblog "$work/log" sh -c 'exit {}' ::: 0 3 0 5 >/dev/null 2>&1
check "--ungroup: the joblog has every job's exit value" test "$(awk -F'\t' 'NR > 1 { print $1, $7 }' "$work/log" | sort | tr '\n' ' ')" = "1 0 2 3 3 0 4 5 "
"$run" -u /nonexistent/procreact-none ::: 1 2>"$work/err"
check "--ungroup: a program that cannot run fails the run" test $? -eq 1
check "--ungroup: a program that cannot run is named, with why" grep -q "cannot run '/nonexistent/procreact-none 1': No such file" "$work/err"
"$run" -u --timeout 0.2 sleep ::: 5 2>"$work/err"
check "--ungroup: a job past its timeout is stopped and reported" grep -q "timed out: sleep 5" "$work/err"

# --- --eta and --bar on a terminal
if script -qc true /dev/null >/dev/null 2>&1; then
    script -qc "'$run' -j 2 --eta --bar sleep ::: 0.3 0.3 0.3 0.3 >/dev/null" /dev/null >"$work/tty"
    check "--eta shows the time left on a terminal" grep -q "ETA" "$work/tty"
    check "--bar draws a bar on a terminal" grep -q "\[####################\] 100%" "$work/tty"
else
    ok "# SKIP script(1) cannot make a terminal here"
fi
"$run" --eta --bar true ::: 1 2>"$work/err"
check "no progress line when standard error is not a terminal" test ! -s "$work/err"

# --- --help and bash completion
for option in --jobs --timeout --null --delimiter --colsep --no-run-if-empty --verbose --delay --progress --arg-file --max-args -N -I --tag --dry-run --joblog --resume --retries \
    --halt --tagstring --pipe --block --line-buffer --ungroup --eta --bar --keep-order --json; do
    "$run" --help | grep -q -- "$option" || not_ok "--help lists $option"
done
ok "--help lists every option"
completion=$here/../../tools/procreact-run.bash-completion
check "the bash completion completes options" bash -c "
    source '$completion'
    COMP_WORDS=(procreact-run --jo); COMP_CWORD=1
    _procreact_run
    [[ \" \${COMPREPLY[*]} \" == *' --jobs '* && \" \${COMPREPLY[*]} \" == *' --joblog '* ]]"
check "the bash completion completes files after -a" bash -c "
    cd '$work' && source '$completion'
    COMP_WORDS=(procreact-run -a lo); COMP_CWORD=2
    _procreact_run
    [[ \${COMPREPLY[*]} == log ]]"

finish
