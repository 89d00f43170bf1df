#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench-run.sh: procreact-run against the hand-written limit and the tools a
# person would use instead, on N `true` jobs with 8 at a time.
#
#   rows: spawn-loop (C: posix_spawn + waitpid, 8 in flight, job k running
#         `PROGRAM k` like every other row; and, for information, the same
#         loop running PROGRAM without an argument), procreact-run,
#         procreact-run --json, xargs -P 8 -n 1, GNU parallel -j 8
#   each round runs every row once, in an order that alternates between
#   rounds; the table has the median wall time per row, jobs per second and
#   the ratio to the C loop. GNU parallel is slow, so it runs fewer jobs
#   (--parallel-n) and its time is scaled to N.
#   Then procreact-run alone at N/4, N/2 and N: the cost per job as N grows.
#
#   Every round's wall time per row also goes to RESULTS/bench-run-<time>.csv
#   (row,round,jobs,wall_s; --results, default bench/results).
#
# Usage: bench/bench-run.sh [--build DIR] [--rounds R] [--jobs N] [--parallel-n M] [--program P] [--results DIR]
set -euo pipefail

build=build
rounds=3
n=10000
pn=1000
program=true
results=$(dirname "$0")/results
while (($#)); do
    case $1 in
        --build) build=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --jobs) n=$2; shift ;;
        --parallel-n) pn=$2; shift ;;
        --program) program=$2; shift ;;
        --results) results=$2; shift ;;
        *) echo "bench-run: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
run=$build/tools/procreact-run
loop=$build/bench/spawn-loop
for f in "$run" "$loop"; do
    [[ -x $f ]] || { echo "bench-run: $f missing: build with -Dbench=true -Dtools=true" >&2; exit 1; }
done
have_parallel=0
if parallel --version >/dev/null 2>&1; then have_parallel=1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seq "$n" >"$work/in"
seq "$pn" >"$work/in-parallel"
prog_path=$(type -P "$program")

# Prints the wall seconds of "$@" (stdin from $input).
timed() {
    local start end
    start=$(date +%s.%N)
    "$@" <"$input" >/dev/null
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f\n", b - a }'
}

row_loop() { input=/dev/null timed "$loop" --number "$n" 8 "$prog_path"; }
row_loop0() { input=/dev/null timed "$loop" "$n" 8 "$prog_path"; }
row_run() { input=$work/in timed "$run" -j 8 -- "$program"; }
row_json() { input=$work/in timed "$run" -j 8 --json -- "$program"; }
row_xargs() { input=$work/in timed xargs -P 8 -n 1 "$program"; }
row_parallel() {
    local t
    t=$(input=$work/in-parallel timed parallel -j 8 "$program")
    awk -v t="$t" -v n="$n" -v m="$pn" 'BEGIN { printf "%.4f\n", t * n / m }'
}

rows=(loop loop0 run json xargs)
((have_parallel)) && rows+=(parallel)
declare -A times
mkdir -p "$results"
csv=$results/bench-run-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "row,round,jobs,wall_s" >"$csv"
for ((r = 0; r < rounds; r++)); do
    order=("${rows[@]}")
    if ((r % 2 == 1)); then
        order=()
        for ((i = ${#rows[@]} - 1; i >= 0; i--)); do order+=("${rows[i]}"); done
    fi
    for row in "${order[@]}"; do
        t=$("row_$row")
        times[$row]+="$t "
        echo "$row,$r,$n,$t" >>"$csv"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A label=([loop]="C loop (posix_spawn + waitpid)" [loop0]="C loop, $program without argument" [run]="procreact-run -j 8" [json]="procreact-run -j 8 --json"
    [xargs]="xargs -P 8 -n 1" [parallel]="GNU parallel -j 8 (scaled from $pn)")
echo "bench-run: $n x $program, 8 at a time, $rounds rounds, medians"
printf '%-42s %10s %10s %10s\n' "" "wall" "jobs/s" "vs loop"
base=$(echo "${times[loop]}" | median)
for row in "${rows[@]}"; do
    m=$(echo "${times[$row]}" | median)
    awk -v l="${label[$row]}" -v m="$m" -v n="$n" -v b="$base" \
        'BEGIN { printf "%-42s %8.3f s %10.0f %9.2fx\n", l, m, n / m, m / b }'
done

echo "results: $csv"
echo
echo "procreact-run -j 8 as the number of jobs grows"
printf '%10s %10s %14s\n' "jobs" "wall" "per job"
for k in $((n / 4)) $((n / 2)) "$n"; do
    seq "$k" >"$work/in-k"
    ts=""
    for ((r = 0; r < rounds; r++)); do ts+="$(input=$work/in-k timed "$run" -j 8 -- "$program") "; done
    m=$(echo "$ts" | median)
    awk -v k="$k" -v m="$m" 'BEGIN { printf "%10d %8.3f s %11.1f us\n", k, m, m / k * 1e6 }'
done
