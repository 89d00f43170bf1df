# SPDX-License-Identifier: MIT
"""ProgramPool: a pool of worker programs, bytes in and bytes out."""

import sys
import time

import pytest

import procreact

# The reference Python worker of the README: bytes in, bytes out, over multiprocessing.connection.
ECHO = (
    "import os, sys\n"
    "from multiprocessing.connection import Connection\n"
    "c = Connection(int(os.environ['PROCREACT_CHANNEL_FD']))\n"
    "while True:\n"
    "    try:\n"
    "        m = c.recv_bytes()\n"
    "    except EOFError:\n"
    "        break\n"
    "    if m == b'die':\n"
    "        os._exit(3)\n"
    "    if m == b'hang':\n"
    "        import time; time.sleep(60)\n"
    "    c.send_bytes(m.upper() + b':%d' % os.getpid())\n"
)

# The POSIX shell worker in line mode: one line in, one line out.
SHELL = 'fd=$PROCREACT_CHANNEL_FD; while read -r l <&$fd; do [ "$l" = die ] && exit 4; echo "re:$l" >&$fd; done'


def test_framed_python_workers():
    with procreact.ProgramPool([sys.executable, "-c", ECHO], max_workers=2) as pool:
        replies = list(pool.map([b"a%d" % i for i in range(40)]))
        assert [r.split(b":")[0] for r in replies] == [b"A%d" % i for i in range(40)]
        assert pool.submit(b"").result(timeout=60).startswith(b":")
        big = bytes(range(256)) * 4096
        assert pool.submit(big).result(timeout=60).startswith(big.upper())


def test_line_mode_shell_workers_and_a_crash():
    with procreact.ProgramPool(SHELL, shell=True, mode="lines", max_workers=2) as pool:
        assert pool.submit(b"hello").result(timeout=60) == b"re:hello"
        doomed = pool.submit(b"die")
        others = [pool.submit(b"x%d" % i) for i in range(10)]
        with pytest.raises(procreact.WorkerCrashed) as info:
            doomed.result(timeout=60)
        assert info.value.exit_code == 4 and info.value.signal == 0
        assert [f.result(timeout=60) for f in others] == [b"re:x%d" % i for i in range(10)]
        with pytest.raises(ValueError):
            pool.submit(b"two\nlines")


def test_timeout_and_crash_in_framed_mode():
    with procreact.ProgramPool([sys.executable, "-c", ECHO], max_workers=1, stop_grace=0.1) as pool:
        started = time.monotonic()
        with pytest.raises(procreact.TaskTimedOut):
            pool.submit(b"hang", timeout=0.2).result(timeout=30)
        assert time.monotonic() - started < 10
        with pytest.raises(procreact.WorkerCrashed) as info:
            pool.submit(b"die").result(timeout=60)
        assert info.value.exit_code == 3
        assert pool.submit(b"ok").result(timeout=60).startswith(b"OK:")


def test_a_program_that_cannot_answer_fails_the_pool():
    with procreact.ProgramPool(["false"], max_workers=1, crash_limit=2) as pool:
        errors = []
        for _ in range(5):  # the pool may fail before all are submitted: submit() raises it then
            try:
                errors.append(pool.submit(b"x").exception(timeout=60))
            except procreact.PoolFailed as error:
                errors.append(error)
        assert all(e.exit_code == 1 for e in errors), errors  # WorkerCrashed, then PoolFailed
        assert isinstance(errors[-1], procreact.PoolFailed)


def test_bad_mode():
    with pytest.raises(ValueError):
        procreact.ProgramPool(["cat"], mode="json")
