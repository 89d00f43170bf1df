# SPDX-License-Identifier: MIT
"""check=True raises subprocess's exceptions (subclasses of them), with
their attributes, so that existing except clauses keep working."""

import subprocess

import pytest

import procreact

FAILING = ["sh", "-c", "echo out; echo err >&2; exit 4"]


def test_called_process_error_is_subprocess_s():
    with pytest.raises(subprocess.CalledProcessError) as ours:
        procreact.run(FAILING, check=True)
    with pytest.raises(subprocess.CalledProcessError) as theirs:
        subprocess.run(FAILING, capture_output=True, check=True)
    assert isinstance(ours.value, procreact.CalledProcessError)
    assert isinstance(ours.value, procreact.ProcessError)
    for name in ("returncode", "cmd", "output", "stdout", "stderr"):
        assert getattr(ours.value, name) == getattr(theirs.value, name), name
    assert str(ours.value) == str(theirs.value)
    assert ours.value.result.returncode == 4


def test_called_process_error_for_a_signal():
    command = ["sh", "-c", "kill -KILL $$"]
    with pytest.raises(subprocess.CalledProcessError) as ours:
        procreact.run(command, check=True)
    with pytest.raises(subprocess.CalledProcessError) as theirs:
        subprocess.run(command, check=True)
    assert ours.value.returncode == theirs.value.returncode == -9
    assert str(ours.value) == str(theirs.value)


def test_timeout_expired_is_subprocess_s():
    command = ["sh", "-c", "echo partial; exec sleep 100"]
    with pytest.raises(subprocess.TimeoutExpired) as ours:
        procreact.run(command, timeout=0.3, check=True)
    with pytest.raises(subprocess.TimeoutExpired) as theirs:
        subprocess.run(command, capture_output=True, timeout=0.3)
    assert isinstance(ours.value, procreact.TimeoutExpired)
    for name in ("cmd", "timeout", "output", "stdout"):
        assert getattr(ours.value, name) == getattr(theirs.value, name), name
    assert str(ours.value) == str(theirs.value)
    assert ours.value.output == b"partial\n"
    # subprocess gives None for a stream that had nothing yet; procreact gives what came: b"".
    assert ours.value.stderr == b"" and theirs.value.stderr in (b"", None)


def test_timeout_message_keeps_the_number_as_given():
    with pytest.raises(subprocess.TimeoutExpired) as info:
        procreact.run(["sleep", "100"], timeout=0, check=True)
    assert str(info.value) == "Command '['sleep', '100']' timed out after 0 seconds"


def test_one_except_clause_for_both():
    for command, timeout in ((["false"], None), (["sleep", "100"], 0.1)):
        with pytest.raises(subprocess.SubprocessError):
            procreact.run(command, timeout=timeout, check=True)


def test_exceptions_from_run_many_and_asyncio(drive):
    for function in ("run_many", "run_async", "run_many_async"):
        with pytest.raises(subprocess.CalledProcessError) as info:
            drive(function, FAILING, check=True)
        assert info.value.returncode == 4 and info.value.stdout == b"out\n", function
