# SPDX-License-Identifier: MIT
"""Standard streams: subprocess's constants keep subprocess's meaning."""

import subprocess

import pytest

import procreact

BOTH = ["sh", "-c", "echo out; echo err >&2"]


def test_constants_are_subprocess_values():
    assert procreact.PIPE == subprocess.PIPE
    assert procreact.DEVNULL == subprocess.DEVNULL
    assert procreact.STDOUT == subprocess.STDOUT


def test_stderr_to_stdout_as_subprocess(capfd):
    ours = procreact.run(BOTH, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    theirs = subprocess.run(BOTH, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert ours.stdout == theirs.stdout == b"out\nerr\n"
    assert capfd.readouterr() == ("", "")  # nothing went to the terminal


def test_devnull_as_subprocess(capfd):
    for run in (procreact.run, subprocess.run):
        r = run(BOTH, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert r.returncode == 0
        assert capfd.readouterr() == ("", ""), run  # thrown away, not sent to the terminal


def test_pipe_captures_as_subprocess():
    ours = procreact.run(BOTH, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    theirs = subprocess.run(BOTH, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr) == (b"out\n", b"err\n")


@pytest.mark.parametrize("stream", ["stdin", "stdout", "stderr"])
@pytest.mark.parametrize("value", [-4, -5, -100])
def test_foreign_negative_values_rejected(stream, value):
    with pytest.raises(ValueError, match=f"{stream}.*{value}"):
        procreact.run(["true"], **{stream: value})


def test_stdout_constant_only_for_stderr():
    with pytest.raises(ValueError, match="STDOUT"):
        procreact.run(["true"], stdout=subprocess.STDOUT)
    with pytest.raises(ValueError, match="STDOUT"):
        procreact.run(["true"], stdin=subprocess.STDOUT)


def test_stdin_pipe_is_an_empty_input_as_subprocess():
    ours = procreact.run(["sh", "-c", "cat; echo end"], stdin=subprocess.PIPE)
    theirs = subprocess.run(["sh", "-c", "cat; echo end"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert ours.stdout == theirs.stdout == b"end\n"


def test_none_inherits_as_subprocess(capfd):
    r = procreact.run(BOTH, stdout=None, stderr=None)
    assert r.stdout is None and r.stderr is None
    assert capfd.readouterr() == ("out\n", "err\n")
    assert procreact.INHERIT is None


def test_file_objects_and_descriptors(tmp_path):
    with open(tmp_path / "out", "wb") as f:
        procreact.run(BOTH, stdout=f, stderr=subprocess.STDOUT)
        procreact.run(["echo", "by fd"], stdout=f.fileno())
    assert (tmp_path / "out").read_bytes() == b"out\nerr\nby fd\n"
    with pytest.raises(TypeError, match="stdout"):
        procreact.run(["true"], stdout=object())
    with pytest.raises(TypeError, match="stderr"):
        procreact.run(["true"], stderr=True)
