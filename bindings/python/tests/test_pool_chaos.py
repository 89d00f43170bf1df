# SPDX-License-Identifier: MIT
"""Crash chaos: workers SIGKILLed at random while tasks run. ProcessPool fails exactly the
killed tasks; ProcessPoolExecutor breaks (BrokenProcessPool); multiprocessing.Pool hangs."""

import concurrent.futures
import os
import random
import signal
import subprocess
import sys
import threading
import time

from concurrent.futures.process import BrokenProcessPool

import pool_tasks
import procreact

HERE = os.path.dirname(os.path.abspath(__file__))
TASKS = 5000
KILLS = 100


def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def children():
    """The pids of this process's running children (any thread's; not the zombies)."""
    pids = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return [pid for pid in pids if running(pid)]


def killer(count, interval, stop, killed, seen):
    """SIGKILLs @p count times, one every @p interval seconds, a random worker among those seen to
    finish a task (@p seen: a worker killed before its first task counts towards the crash limit)."""
    rng = random.Random(17)
    while len(killed) < count and not stop.is_set():
        time.sleep(interval)
        pids = sorted(set(seen) & set(children()) - set(killed))
        if not pids:
            continue
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(pid)


def test_process_pool_fails_exactly_the_killed_tasks():
    fds = sorted(os.listdir("/proc/self/fd"))
    killed = []
    seen = []
    stop = threading.Event()
    with procreact.ProcessPool(4) as pool:
        futures = [pool.submit(pool_tasks.sleep_pid, 0.002, i) for i in range(TASKS)]
        for future in futures:
            future.add_done_callback(lambda f: f.exception() or seen.append(f.result()[0]))
        thread = threading.Thread(target=killer, args=(KILLS, 0.02, stop, killed, seen))
        thread.start()
        try:
            done, pending = concurrent.futures.wait(futures, timeout=300)
        finally:
            stop.set()
            thread.join()
        assert not pending, f"{len(pending)} tasks never completed: a hang"
        crashed = {}
        for i, future in enumerate(futures):
            error = future.exception()
            if error is None:
                assert future.result()[1] == i
                continue
            assert isinstance(error, procreact.WorkerCrashed), repr(error)
            assert error.signal == signal.SIGKILL and error.exit_code is None
            assert error.pid in killed, (error.pid, "died without being killed")
            assert error.pid not in crashed, "one death failed two tasks"
            crashed[error.pid] = i
        # Most workers are busy when the killer strikes; a worker killed between two tasks fails none.
        assert len(killed) == KILLS and KILLS // 4 <= len(crashed) <= KILLS, (len(killed), len(crashed))
def test_process_pool_executor_breaks_on_one_kill():
    with concurrent.futures.ProcessPoolExecutor(4) as pool:
        futures = [pool.submit(pool_tasks.sleep, 0.002, i) for i in range(1000)]
        futures[20].result(timeout=60)
        victims = children()
        os.kill(victims[0], signal.SIGKILL)
        concurrent.futures.wait(futures, timeout=120)
        broken = [f for f in futures if isinstance(f.exception(timeout=0), BrokenProcessPool)]
        # one killed worker held at most a few tasks, yet far more fail: every pending one
        assert len(broken) > 100, len(broken)
        try:
            pool.submit(pool_tasks.square, 2)
            raise AssertionError("a broken ProcessPoolExecutor took a task")
        except BrokenProcessPool:
            pass


POOL_SCRIPT = r'''
import multiprocessing, os, signal, time
import pool_tasks

with multiprocessing.Pool(2) as pool:
    result = pool.map_async(pool_tasks.sleep, [0.05] * 100)
    time.sleep(0.5)
    os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)
    print("killed", flush=True)
    result.get()
    print("finished", flush=True)
'''


def test_multiprocessing_pool_hangs_after_a_kill():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, "-c", POOL_SCRIPT], stdout=subprocess.PIPE, env=env, text=True,
                             start_new_session=True)
    try:
        child.wait(timeout=15)  # 2.5 s of work on 2 workers, when nothing is lost
        hung = False
    except subprocess.TimeoutExpired:
        hung = True
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)  # the pool's workers too
        child.wait()
        output = child.stdout.read()
        child.stdout.close()
    assert "killed" in output
    assert hung and "finished" not in output, output
