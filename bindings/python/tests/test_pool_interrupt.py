# SPDX-License-Identifier: MIT
"""KeyboardInterrupt while a ProcessPool's tasks run: the program ends and no worker stays behind."""

import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPT = r'''
import sys, time
import pool_tasks, procreact

def main(pool):
    futures = [pool.submit(pool_tasks.sleep, 60, i) for i in range(4)]
    deadline = time.monotonic() + 60
    while not (futures[0].worker_pid and futures[1].worker_pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    print(futures[0].worker_pid, futures[1].worker_pid, flush=True)
    if sys.argv[2] == "map":
        list(pool.map(pool_tasks.sleep, [60, 60]))
    futures[0].result()

pool = procreact.ProcessPool(2, stop_grace=0.2)
if sys.argv[1] == "with":
    with pool:
        main(pool)
else:
    main(pool)  # no with: the interpreter's exit stops the workers
'''


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("form", ["with", "bare"])
@pytest.mark.parametrize("wait", ["result", "map"])
def test_ctrl_c_leaves_no_worker(form, wait):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, form, wait], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = child.stdout.readline()
        pids = [int(word) for word in line.split()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids), (line, child.stderr.read())
        time.sleep(0.2)  # into result() or map()
        started = time.monotonic()
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) != 0
        assert time.monotonic() - started < 15
        assert "KeyboardInterrupt" in child.stderr.read()
        assert not [pid for pid in pids if alive(pid)]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
