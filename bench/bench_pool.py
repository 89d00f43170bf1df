#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_pool.py: N tiny Python tasks submitted one by one to a worker pool of 8.

Rows: procreact.ProcessPool(8) (submit each task, then wait for every future);
concurrent.futures.ProcessPoolExecutor(8) the same way; and
multiprocessing.Pool(8).map over the same N items (its default chunking: for
information, it is not one submission per task). The task is `tiny(k)`,
k + 1, defined here. Each pool is started and warmed (20 tasks per worker, so
that every worker is up) before its timing and shut down after it; only
submitting and waiting are timed. Every round runs every row
once, the order reversed every other round; the table has medians (tasks
per second, the ratio to ProcessPoolExecutor, the parent's own CPU per task
from getrusage(RUSAGE_SELF)) and the target (ProcessPool >= ProcessPoolExecutor).
The rounds and medians go to bench/results/pool-python-<UTC time>.json.

Usage: bench_pool.py [--rounds R] [-n N] [--workers W] [--out DIR]
Needs the binding importable (PYTHONPATH=bindings/python) and the library
(PROCREACT_LIBRARY=build/src/libprocreact.so.0, or installed).
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time

import procreact


def tiny(k):
    return k + 1


def cpu_self():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def submit_all(pool, n):
    futures = [pool.submit(tiny, k) for k in range(n)]
    total = sum(f.result() for f in futures)
    assert total == n * (n + 1) // 2, total


def timed(start, run, stop, warm):
    """Starts a pool and warms it (untimed: every worker up), times run(pool) (wall, parent CPU),
    stops the pool (untimed)."""
    pool = start()
    try:
        warm(pool)
        c0, t0 = cpu_self(), time.monotonic()
        run(pool)
        t1, c1 = time.monotonic(), cpu_self()
    finally:
        stop(pool)
    return t1 - t0, c1 - c0


def rows(n, workers):
    def pool_map(pool):
        total = sum(pool.map(tiny, range(n)))
        assert total == n * (n + 1) // 2, total

    def warm(pool):
        submit_all(pool, 20 * workers)

    def warm_map(pool):
        assert sum(pool.map(tiny, range(20 * workers))) > 0

    return {
        f"procreact.ProcessPool({workers})": lambda: timed(
            lambda: procreact.ProcessPool(workers), lambda p: submit_all(p, n), lambda p: p.shutdown(), warm),
        f"ProcessPoolExecutor({workers})": lambda: timed(
            lambda: concurrent.futures.ProcessPoolExecutor(workers), lambda p: submit_all(p, n),
            lambda p: p.shutdown(), warm),
        f"multiprocessing.Pool({workers}).map": lambda: timed(
            lambda: multiprocessing.get_context("fork").Pool(workers), pool_map,
            lambda p: (p.close(), p.join()), warm_map),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", type=int, default=100000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = parser.parse_args()
    n = args.n
    print(f"bench_pool: {n} tiny tasks, {args.workers} workers, {args.rounds} rounds, medians; "
          f"procreact {procreact.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    table = rows(n, args.workers)
    names = list(table)
    walls = {name: [] for name in names}
    cpus = {name: [] for name in names}
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else list(reversed(names))):
            wall, cpu = table[name]()
            walls[name].append(wall)
            cpus[name].append(cpu)
            print(f"  round {r + 1}: {name}: {n / wall:.0f} tasks/s", file=sys.stderr)
    reference = statistics.median(walls[names[1]])
    print(f"\n{'':36} {'tasks/s':>9} {'vs PPE':>7} {'parent CPU/task':>16}")
    medians = {}
    for name in names:
        w = statistics.median(walls[name])
        c = statistics.median(cpus[name])
        medians[name] = {"tasks_per_second": n / w, "vs_process_pool_executor": reference / w,
                         "parent_cpu_us_per_task": c / n * 1e6}
        print(f"{name:36} {n / w:9.0f} {reference / w:6.2f}x {c / n * 1e6:13.1f} us")
    ratio = medians[names[0]]["vs_process_pool_executor"]
    met = ratio >= 1.0
    print(f"\ntarget ProcessPool >= ProcessPoolExecutor({args.workers}): {ratio:.2f}x: "
          f"{'met' if met else 'NOT met'}")
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = os.path.join(args.out, f"pool-python-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"benchmark": "bench_pool", "tasks": n, "workers": args.workers, "rounds": args.rounds,
                   "python": sys.version.split()[0], "procreact": procreact.__version__,
                   "cpus": os.cpu_count(), "walls": walls, "parent_cpus": cpus, "medians": medians,
                   "target_met": met}, f, indent=2)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
