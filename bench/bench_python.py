#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench_python.py: N programs, 8 at a time, from a Python parent.

Every row runs the same command lines: job k (1..N) is `PROGRAM k`, as in
bench/bench-run.sh and bench/bench-throughput (which imports these rows).

Rows: procreact.run_many; concurrent.futures.ThreadPoolExecutor(8) with
subprocess.run; asyncio.create_subprocess_exec with a Semaphore(8);
multiprocessing.Pool(8) calling subprocess.run; and the hand-written C loop
(bench/spawn_loop.c: posix_spawn + waitpid, 8 in flight) as the limit.

For each parent size (50 MiB and 2 GiB resident by default) every round runs
every row once, in an order that alternates between rounds; the table has
medians: programs per second, the ratio to the C loop, and the Python
process's own CPU per program (getrusage(RUSAGE_SELF): what the parent spent,
whatever runs in it; for the pool that leaves out its worker processes, and
for the C loop it is that process's own CPU, from RUSAGE_CHILDREN).

Usage: bench_python.py [--build DIR] [--rounds R] [-n N] [--sizes MiB,...] [--program P]
Needs the binding importable (PYTHONPATH=bindings/python) and the library
(PROCREACT_LIBRARY=build/src/libprocreact.so.0, or installed).
"""

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time

import procreact

LIMIT = 8


def cpu_self():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def cpu_children():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def commands(program, n):
    """Job k (1..n) runs `program k`."""
    return [[program, str(k)] for k in range(1, n + 1)]


def row_procreact(cmds):
    results = procreact.run_many(iter(cmds), limit=LIMIT, stdout=procreact.DEVNULL, stderr=procreact.DEVNULL)
    failed = sum(1 for r in results if not r.ok)
    assert failed == 0, f"{failed} failed"


def _one(argv):
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def row_threads(cmds):
    with concurrent.futures.ThreadPoolExecutor(LIMIT) as pool:
        codes = list(pool.map(_one, cmds))
    assert not any(codes)


def row_asyncio(cmds):
    async def main():
        sem = asyncio.Semaphore(LIMIT)

        async def one(argv):
            async with sem:
                proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL,
                                                            stderr=asyncio.subprocess.DEVNULL)
                return await proc.wait()
        codes = await asyncio.gather(*(one(argv) for argv in cmds))
        assert not any(codes)
    asyncio.run(main())


_POOL = None


def start_pool():
    """The worker processes of row_pool (forked now, from this parent)."""
    global _POOL
    _POOL = multiprocessing.get_context("fork").Pool(LIMIT)


def stop_pool():
    _POOL.close()
    _POOL.join()


def row_pool(cmds):
    codes = _POOL.map(_one, cmds, chunksize=8)
    assert not any(codes)


def row_loop(loop, program, n):
    subprocess.run([loop, "--number", str(n), str(LIMIT), program], check=True)


def measure(fn):
    c0, k0, t0 = cpu_self(), cpu_children(), time.monotonic()
    fn()
    t1, c1, k1 = time.monotonic(), cpu_self(), cpu_children()
    return t1 - t0, c1 - c0, k1 - k0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--sizes", default="50,2048")
    parser.add_argument("--program", default="/bin/true")
    args = parser.parse_args()
    loop = os.path.join(args.build, "bench", "spawn-loop")
    if not os.access(loop, os.X_OK):
        sys.exit(f"bench_python: {loop} missing: build with -Dbench=true")
    n, program = args.n, args.program
    print(f"bench_python: {n} x {program}, {LIMIT} at a time, {args.rounds} rounds, medians; "
          f"procreact {procreact.__version__}, Python {sys.version.split()[0]}")
    ballast = bytearray()
    for size in (int(s) for s in args.sizes.split(",")):
        # The parent's resident size: a touched bytearray on top of the interpreter.
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        ballast = bytearray(max(0, size - base) << 20)
        for i in range(0, len(ballast), 4096):
            ballast[i] = 1
        time.sleep(3)  # the machine settles after the first touch (bench_ballast.h says why)
        cmds = commands(program, n)
        rows = {
            "C loop (posix_spawn + waitpid)": lambda: row_loop(loop, program, n),
            "procreact.run_many": lambda: row_procreact(cmds),
            "ThreadPoolExecutor(8) + subprocess.run": lambda: row_threads(cmds),
            "asyncio subprocess + Semaphore(8)": lambda: row_asyncio(cmds),
            "multiprocessing.Pool(8) + subprocess.run": lambda: row_pool(cmds),
        }
        names = list(rows)
        walls = {k: [] for k in names}
        cpus = {k: [] for k in names}
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else list(reversed(names))):
                pool = name.startswith("multiprocessing")
                if pool:  # only around its row: its handler threads would count in the others' CPU
                    start_pool()
                wall, cpu, child_cpu = measure(rows[name])
                if pool:
                    stop_pool()
                walls[name].append(wall)
                cpus[name].append(child_cpu if name.startswith("C loop") else cpu)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"\nparent of {size} MiB (peak resident {rss} MiB)")
        print(f"{'':44} {'programs/s':>11} {'vs C loop':>10} {'parent CPU/program':>19}")
        loop_wall = statistics.median(walls[names[0]])
        for name in names:
            w = statistics.median(walls[name])
            c = statistics.median(cpus[name])
            print(f"{name:44} {n / w:11.0f} {w / loop_wall:9.2f}x {c / n * 1e6:16.1f} us")
        del ballast


if __name__ == "__main__":
    main()
