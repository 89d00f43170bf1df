# SPDX-License-Identifier: MIT
"""ProcessPool's worker program (python3 -m procreact._pool_worker), driven directly over its channel."""

import os
import pickle
import sys

import pytest

import pool_tasks
import procreact
from procreact._pool_worker import INIT_ENV, encode_init

WORKER = [sys.executable, "-m", "procreact._pool_worker"]


def worker(initializer=None, initargs=()):
    env = dict(os.environ, **{INIT_ENV: encode_init(initializer, initargs)})
    return procreact.ChannelProcess(WORKER, env=env)


def ready(p):
    """@p p, once it sent its ready message (an empty one, after its initializer)."""
    assert p.recv(timeout=30) == b""
    return p


def call(p, fn, *args, **kwargs):
    p.send(pickle.dumps((fn, args, kwargs)))
    return pickle.loads(p.recv(timeout=30))


def test_calls_and_returns_values_in_turn(capfd):
    with worker() as p:
        ready(p)
        assert call(p, pool_tasks.square, 12) == (True, 144)
        assert call(p, pool_tasks.add, 1, b=2) == (True, 3)
        ok, (pid, value) = call(p, pool_tasks.whoami, "x")
        assert ok and pid == p.pid and value == "x"
        p.close_send()  # the end of the channel ends the worker
        assert p.wait() == 0
    assert capfd.readouterr().err == ""  # no warning either (runpy's about a module imported twice)


def test_exception_comes_back_with_its_traceback_text():
    with worker() as p:
        ready(p)
        ok, error, text = call(p, pool_tasks.divide, 1, 0)
        assert not ok and isinstance(error, ZeroDivisionError)
        assert text.startswith("Traceback") and "pool_tasks.py" in text and "return a / b" in text
        assert call(p, pool_tasks.square, 3) == (True, 9)  # the worker goes on


def test_unpicklable_exception_and_result_become_stand_ins():
    with worker() as p:
        ready(p)
        ok, error, text = call(p, pool_tasks.raise_unpicklable)
        assert not ok and type(error) is RuntimeError and "Unpicklable" in str(error) and "Unpicklable" in text
        ok, error, text = call(p, pool_tasks.return_lambda)  # the pickling error itself pickles
        assert not ok and isinstance(error, (AttributeError, pickle.PicklingError)) and "lambda" in str(error)


def test_ready_message_comes_once_before_any_task():
    with worker(pool_tasks.remember, ("k", 7)) as p:
        assert p.recv(timeout=30) == b""  # sent unasked, after the initializer ran
        assert call(p, pool_tasks.recall, "k") == (True, 7)  # the next message is the reply
        assert call(p, pool_tasks.square, 3) == (True, 9)


def test_initializer_runs_first_and_channel_variables_are_hidden():
    with worker(pool_tasks.remember, ("greeting", "hello")) as p:
        ready(p)
        assert call(p, pool_tasks.recall, "greeting") == (True, "hello")
        for name in ("PROCREACT_CHANNEL_FD", "PROCREACT_CHANNEL_MODE", INIT_ENV):
            assert call(p, pool_tasks.environment, name) == (True, None)


def test_failing_initializer_ends_the_worker_with_exit_code_1(capfd):
    with worker(pool_tasks.fail_init) as p:
        with pytest.raises(EOFError):  # no ready message: the channel ends first
            p.recv(timeout=30)
        assert p.wait() == 1
    err = capfd.readouterr().err
    assert "this initializer fails" in err and "the pool's initializer" in err


def test_module_path_of_the_parent_reaches_the_worker(tmp_path, monkeypatch):
    (tmp_path / "only_here_mod.py").write_text("def triple(x):\n    return 3 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import only_here_mod
    with worker() as p:  # the worker's own sys.path lacks tmp_path: only the blob's has it
        ready(p)
        assert call(p, only_here_mod.triple, 5) == (True, 15)


def test_no_channel_is_a_clear_error():
    r = procreact.run(WORKER)
    assert r.returncode == 2 and b"no channel" in r.stderr
