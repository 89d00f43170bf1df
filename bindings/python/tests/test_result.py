# SPDX-License-Identifier: MIT
"""What a Result says about how a program ended, next to subprocess's."""

import signal
import subprocess

import pytest

import procreact


def test_signal_gives_negative_returncode_as_subprocess():
    command = ["sh", "-c", "kill -TERM $$"]
    ours = procreact.run(command)
    theirs = subprocess.run(command)
    assert ours.returncode == theirs.returncode == -signal.SIGTERM
    assert ours.signal == signal.SIGTERM
    assert not ours.ok
    assert "returncode=-15" in repr(ours)


def test_timeout_gives_negative_returncode():
    r = procreact.run(["sleep", "100"], timeout=0.1)
    assert r.timed_out and r.signal == signal.SIGTERM and r.returncode == -signal.SIGTERM


def test_exit_leaves_signal_none():
    r = procreact.run(["sh", "-c", "exit 3"])
    assert r.returncode == 3 and r.signal is None


def test_output_limit_flag():
    r = procreact.run(["yes"], output_limit=1000)
    assert r.output_limit is True
    # The stop sequence's SIGTERM, or SIGPIPE if the library closed the pipe first:
    # either way, the flag tells why.
    assert len(r.stdout) == 1000 and r.signal in (signal.SIGTERM, signal.SIGPIPE) and not r.timed_out
    assert "output_limit=True" in repr(r)
    r = procreact.run(["echo", "short"], output_limit=1000)
    assert r.output_limit is False and r.ok


def test_output_limit_is_not_ok_even_with_exit_0():
    # The shell ignores SIGPIPE, traps the stop signal and exits 0: the output is still cut.
    script = "trap 'exit 0' TERM; trap '' PIPE; while :; do echo y; done 2>/dev/null"
    r = procreact.run(["sh", "-c", script], output_limit=100)
    assert r.output_limit and r.returncode == 0 and len(r.stdout) == 100
    assert not r.ok


def test_output_limit_fails_check():
    with pytest.raises(procreact.CalledProcessError, match="output passed the limit"):
        procreact.run(["yes"], output_limit=10, check=True)
