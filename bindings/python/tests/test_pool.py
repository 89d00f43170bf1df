# SPDX-License-Identifier: MIT
"""ProcessPool: a concurrent.futures.Executor whose workers may die without breaking it."""

import asyncio
import concurrent.futures
import os
import signal
import time

import pytest

import pool_tasks
import procreact


def open_fds():
    return sorted(int(name) for name in os.listdir("/proc/self/fd"))


def test_submit_map_and_chunks():
    with procreact.ProcessPool(2) as pool:
        assert pool.submit(pool_tasks.add, 2, b=40).result(timeout=60) == 42
        assert list(pool.map(pool_tasks.square, range(50))) == [x * x for x in range(50)]
        assert list(pool.map(pool_tasks.add, range(30), range(30), chunksize=7)) == [2 * x for x in range(30)]
        with pytest.raises(ValueError):
            pool.map(pool_tasks.square, range(3), chunksize=0)


def test_map_timeout_raises_and_cancels_the_rest():
    with procreact.ProcessPool(1, stop_grace=0.1) as pool:
        results = pool.map(pool_tasks.sleep, [30, 30, 30], timeout=0.3)
        started = time.monotonic()
        with pytest.raises(concurrent.futures.TimeoutError):
            next(results)
        assert time.monotonic() - started < 10
    # leaving the block waited for the cancelled (stopped) tasks: nothing runs now


def test_exception_carries_the_remote_traceback():
    with procreact.ProcessPool(1) as pool:
        future = pool.submit(pool_tasks.divide, 1, 0)
        with pytest.raises(ZeroDivisionError) as info:
            future.result(timeout=60)
        cause = info.value.__cause__
        assert isinstance(cause, procreact.RemoteTraceback)
        assert "return a / b" in cause.text and "return a / b" in str(cause)


@pytest.mark.parametrize("task,signo,code", [((pool_tasks.die,), 9, None),
                                            ((pool_tasks.die, signal.SIGSEGV), signal.SIGSEGV, None),
                                            ((pool_tasks.exit_now, 7), 0, 7)])
def test_a_dead_worker_fails_only_its_task(task, signo, code):
    with procreact.ProcessPool(2) as pool:
        before = [pool.submit(pool_tasks.sleep, 0.2, i) for i in range(4)]
        doomed = pool.submit(*task)
        after = [pool.submit(pool_tasks.square, i) for i in range(20)]
        with pytest.raises(procreact.WorkerCrashed) as info:
            doomed.result(timeout=60)
        error = info.value
        assert error.signal == signo and error.exit_code == code
        assert error.returncode == (-signo if signo else code) and error.pid > 0
        assert [f.result(timeout=60) for f in before] == list(range(4))
        assert [f.result(timeout=60) for f in after] == [i * i for i in range(20)]
        assert pool.submit(pool_tasks.square, 9).result(timeout=60) == 81  # still working
        assert pool.stats()["workers_crashed"] == 1


def test_per_task_timeout_stops_the_worker():
    with procreact.ProcessPool(2, stop_grace=0.2) as pool:
        others = [pool.submit(pool_tasks.square, i) for i in range(10)]
        started = time.monotonic()
        hung = pool.submit_with_timeout(0.2, pool_tasks.sleep, 60)
        with pytest.raises(procreact.TaskTimedOut) as info:
            hung.result(timeout=30)
        assert time.monotonic() - started < 10
        assert isinstance(info.value, TimeoutError) and info.value.signal == signal.SIGTERM
        assert [f.result(timeout=60) for f in others] == [i * i for i in range(10)]
        assert pool.submit_with_timeout(None, pool_tasks.square, 5).result(timeout=60) == 25
    with procreact.ProcessPool(1, task_timeout=0.2, stop_grace=0.1) as pool:
        with pytest.raises(procreact.TaskTimedOut):
            pool.submit(pool_tasks.sleep, 60).result(timeout=30)
        # No deadline here: on a loaded machine a quick task may take longer than 0.2 s.
        assert pool.submit_with_timeout(None, pool_tasks.sleep, 0, "quick").result(timeout=60) == "quick"
        with pytest.raises(ValueError):
            pool.submit_with_timeout(-1, pool_tasks.square, 1)


def test_cancel_removes_a_queued_task_and_stops_a_running_one():
    with procreact.ProcessPool(1, stop_grace=0.1) as pool:
        running = pool.submit(pool_tasks.sleep, 60)
        deadline = time.monotonic() + 30
        while running.worker_pid == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = running.worker_pid
        assert pid > 0
        queued = pool.submit(pool_tasks.square, 3)
        assert queued.cancel() and queued.cancelled()
        assert running.cancel() and running.cancelled()
        done, _ = concurrent.futures.wait([running, queued], timeout=5)
        assert done == {running, queued}
        assert pool.submit(pool_tasks.whoami).result(timeout=60)[0] != pid  # a replacement runs it
        assert pool.stats()["workers_stopped"] == 1


def test_recycling_after_each_task_gives_a_fresh_worker():
    with procreact.ProcessPool(1, max_tasks_per_child=1) as pool:
        pids = [pool.submit(pool_tasks.whoami).result(timeout=60)[0] for _ in range(5)]
    assert len(set(pids)) == 5


def test_rss_limit_retires_a_growing_worker():
    with procreact.ProcessPool(1, max_rss=120 << 20) as pool:
        pids = [pool.submit(pool_tasks.grow, 10).result(timeout=60) for _ in range(20)]
        assert pool.stats()["workers_recycled"] >= 1
    assert len(set(pids)) >= 2


def test_initializer_runs_in_each_worker():
    with procreact.ProcessPool(2, initializer=pool_tasks.remember, initargs=("k", 42)) as pool:
        assert list(pool.map(pool_tasks.recall, ["k"] * 8)) == [42] * 8


def test_failing_initializer_fails_the_pool(capfd):
    # A worker says it is ready only after its initializer ran, and gets no task before: a worker that
    # dies in its initializer fails no task. After crash_limit such deaths in a row the pool fails and
    # every task raises PoolFailed (none WorkerCrashed), carrying the last worker's exit (code 1).
    started = time.monotonic()
    with procreact.ProcessPool(1, initializer=pool_tasks.fail_init, crash_limit=3) as pool:
        futures = [pool.submit(pool_tasks.square, i) for i in range(10)]  # before 3 workers started and died
        errors = [f.exception(timeout=60) for f in futures]
        assert all(type(e) is procreact.PoolFailed for e in errors), errors
        assert all(e.exit_code == 1 for e in errors), errors
        assert "exit code 1" in str(errors[0])
        assert isinstance(errors[0], concurrent.futures.BrokenExecutor)
        with pytest.raises(procreact.PoolFailed):
            pool.submit(pool_tasks.square, 3)
    assert time.monotonic() - started < 20
    assert "this initializer fails" in capfd.readouterr().err


def test_shutdown_cancels_queued_and_refuses_new_tasks():
    pool = procreact.ProcessPool(1)
    first = pool.submit(pool_tasks.sleep, 0.3, "first")
    rest = [pool.submit(pool_tasks.square, i) for i in range(5)]
    time.sleep(0.1)
    pool.shutdown(wait=True, cancel_futures=True)
    assert first.result(timeout=0) == "first"
    assert all(f.cancelled() for f in rest)  # one task per worker: they were all still queued
    with pytest.raises(RuntimeError):
        pool.submit(pool_tasks.square, 1)


def test_terminate_stops_running_tasks_now():
    pool = procreact.ProcessPool(2, stop_grace=0.1)
    futures = [pool.submit(pool_tasks.sleep, 60) for _ in range(4)]
    time.sleep(0.3)
    started = time.monotonic()
    pool.terminate()
    assert time.monotonic() - started < 10
    assert all(f.cancelled() for f in futures)


def test_terminate_after_a_cancel():
    # terminate() once cancelled the futures anew: one already cancelled made it raise and leave workers.
    pool = procreact.ProcessPool(1, stop_grace=0.1)
    futures = [pool.submit(pool_tasks.sleep, 60) for _ in range(3)]
    assert futures[2].cancel()
    pool.terminate()
    assert all(f.cancelled() for f in futures)


def test_no_descriptor_left():
    before = open_fds()
    with procreact.ProcessPool(3) as pool:
        assert sum(pool.map(pool_tasks.square, range(100))) == sum(x * x for x in range(100))
    assert open_fds() == before


def test_asyncio_wrap_future_and_run_in_executor():
    async def main(pool):
        loop = asyncio.get_running_loop()
        a = await asyncio.wrap_future(pool.submit(pool_tasks.square, 7))
        b = await loop.run_in_executor(pool, pool_tasks.add, 1, 2)
        gathered = await asyncio.gather(*(loop.run_in_executor(pool, pool_tasks.square, i) for i in range(20)))
        slow = asyncio.wrap_future(pool.submit(pool_tasks.sleep, 60))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(slow, 0.2)  # cancels the asyncio future, which cancels the task
        return a, b, gathered

    with procreact.ProcessPool(2, stop_grace=0.1) as pool:
        started = time.monotonic()
        a, b, gathered = asyncio.run(main(pool))
        assert (a, b, gathered) == (49, 3, [i * i for i in range(20)])
    assert time.monotonic() - started < 20  # the 60 s task was stopped, not waited for


def test_workers_lead_process_groups_of_their_own():
    # A Ctrl-C at the terminal (SIGINT to the foreground group) reaches the parent, not its workers.
    with procreact.ProcessPool(1) as pool:
        pid, group = pool.submit(pool_tasks.process_group).result(timeout=60)
    assert group == pid != os.getpgid(0)


def test_bad_arguments():
    with pytest.raises(FileNotFoundError):
        procreact.ProcessPool(1, executable="/nonexistent/python3")
    with pytest.raises(ValueError):
        procreact.ProcessPool(0)
    with pytest.raises(TypeError):
        procreact.ProcessPool(initializer=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        procreact.ProcessPool(max_tasks_per_child=1.5)  # type: ignore[arg-type]


MAIN_SCRIPT = '''
import procreact

def cube(x):
    return x ** 3

if __name__ == "__main__":
    with procreact.ProcessPool(2) as pool:
        print(sum(pool.map(cube, range(10))))
'''


def test_functions_of_the_main_script(tmp_path):
    import subprocess
    import sys
    script = tmp_path / "main_script.py"
    script.write_text(MAIN_SCRIPT)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout) == (0, "2025\n"), r.stderr


def test_a_dropped_pool_finishes_its_tasks_and_ends_its_workers():
    import gc
    import threading
    pool = procreact.ProcessPool(2)
    futures = [pool.submit(pool_tasks.sleep, 0.1, i) for i in range(4)]
    del pool
    gc.collect()
    assert [f.result(timeout=60) for f in futures] == list(range(4))
    deadline = time.monotonic() + 30
    while any(t.name == "procreact-pool" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(t.name == "procreact-pool" for t in threading.enumerate())


def test_submit_from_many_threads():
    import threading
    results = {}

    def feed(pool, base):
        futures = [pool.submit(pool_tasks.square, base + i) for i in range(300)]
        results[base] = [f.result(timeout=120) for f in futures]

    with procreact.ProcessPool(2) as pool:
        threads = [threading.Thread(target=feed, args=(pool, 1000 * k)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {1000 * k: [(1000 * k + i) ** 2 for i in range(300)] for k in range(4)}
