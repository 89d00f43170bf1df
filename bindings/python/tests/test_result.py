# SPDX-License-Identifier: MIT
"""What a Result says about how a program ended, next to subprocess's."""

import signal
import subprocess

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
