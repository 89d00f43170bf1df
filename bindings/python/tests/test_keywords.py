# SPDX-License-Identifier: MIT
"""subprocess.run's keywords: shell, pass_fds, process groups, capture_output,
and a clear TypeError for every one the binding does not take."""

import inspect
import os
import re
import subprocess

import pytest

import procreact

FUNCTIONS = ["run", "run_many", "run_async", "run_many_async"]


def test_shell_as_subprocess():
    for args in ("echo $0 $1; exit 3", ["echo $0 $1; exit 3", "zero", "one"], b"echo bytes"):
        ours = procreact.run(args, shell=True)
        theirs = subprocess.run(args, shell=True, stdout=subprocess.PIPE)
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args
        assert ours.args == theirs.args == args  # the command as given
    with pytest.raises(subprocess.CalledProcessError) as info:
        procreact.run("exit 2", shell=True, check=True)
    assert info.value.cmd == "exit 2"


def test_shell_in_run_many_and_asyncio(drive):
    for function in ("run_many", "run_async", "run_many_async"):
        assert drive(function, "echo $((6 * 7))", shell=True).stdout == b"42\n", function


def test_pass_fds_as_subprocess():
    read_end, write_end = os.pipe()
    try:
        command = ["sh", "-c", f"echo through > /dev/fd/{write_end}"]
        for run in (procreact.run, subprocess.run):
            assert run(command, pass_fds=[write_end]).returncode == 0, run
            assert os.read(read_end, 100) == b"through\n"
            # Without it the descriptor is closed in the program, in both.
            assert run(command, stderr=subprocess.DEVNULL).returncode != 0, run
        # 0 to 2 are the standard streams: accepted, and left to stdin, stdout and stderr.
        assert procreact.run(command, pass_fds=(1, write_end)).returncode == 0
        assert os.read(read_end, 100) == b"through\n"
    finally:
        os.close(read_end)
        os.close(write_end)
    with pytest.raises(ValueError, match="pass_fds"):
        procreact.run(["true"], pass_fds=[-1])
    with pytest.raises(TypeError, match="pass_fds"):
        procreact.run(["true"], pass_fds=["3"])
    with pytest.raises(TypeError, match="pass_fds"):
        procreact.run(["true"], pass_fds=3)


def test_pass_fds_closed_descriptor():
    closed = 900  # high: a freshly closed low number could be reused by the library's own descriptors
    with pytest.raises(OSError):
        os.fstat(closed)
    with pytest.raises(OSError) as info:
        procreact.run(["true"], pass_fds=[closed])
    assert info.value.errno == 9  # EBADF, before the program runs


def test_process_group_0_as_subprocess():
    # Prints the shell's process group and its pid.
    command = ["sh", "-c", "read -r line < /proc/$$/stat; set -- ${line##*) }; echo $3 $$"]
    for run in (procreact.run, subprocess.run):
        r = run(command, process_group=0, stdout=subprocess.PIPE)
        group, pid = r.stdout.split()
        assert group == pid, run
    # procreact always gives each program a group of its own (its stop sequence signals it).
    group, pid = procreact.run(command).stdout.split()
    assert group == pid and int(group) != os.getpgrp()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_what_libprocreact_cannot_do_is_refused(drive, function, tmp_path):
    marker = tmp_path / "ran"
    for keyword, value in (("start_new_session", True), ("process_group", os.getpgrp())):
        with pytest.raises(NotImplementedError, match=keyword):
            drive(function, ["touch", str(marker)], **{keyword: value})
    assert not marker.exists()
    assert drive(function, ["true"], start_new_session=False, process_group=None).ok


def test_capture_output_as_subprocess():
    command = ["sh", "-c", "echo out; echo err >&2"]
    ours = procreact.run(command, capture_output=True)
    theirs = subprocess.run(command, capture_output=True)
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr) == (b"out\n", b"err\n")
    for run in (procreact.run, subprocess.run):
        with pytest.raises(ValueError, match="capture_output"):
            run(command, capture_output=True, stdout=subprocess.DEVNULL)
        with pytest.raises(ValueError, match="capture_output"):
            run(command, capture_output=True, stderr=subprocess.STDOUT)


SUBPROCESS_KEYWORDS = (set(inspect.signature(subprocess.Popen).parameters)
                       | {"input", "capture_output", "timeout", "check"}) - {"args"}


def test_every_subprocess_keyword_is_known():
    taken = set(inspect.signature(procreact.run).parameters)
    refused = SUBPROCESS_KEYWORDS - taken
    # What libprocreact lacks, and what has no meaning without Popen or off Windows.
    assert refused == {"executable", "umask", "preexec_fn", "close_fds", "restore_signals", "bufsize", "pipesize",
                       "user", "group", "extra_groups", "startupinfo", "creationflags"}


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("keyword", sorted(SUBPROCESS_KEYWORDS - set(inspect.signature(procreact.run).parameters)))
def test_refused_subprocess_keyword_names_itself(drive, function, keyword, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(TypeError) as info:
        drive(function, ["touch", str(marker)], **{keyword: None})
    message = str(info.value)
    assert f"procreact.{function}()" in message and repr(keyword) in message and "subprocess" in message
    assert not marker.exists()


def test_readme_table_has_every_subprocess_keyword():
    readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("| subprocess |", text.index("### subprocess → procreact")):]
    table = table[:table.index("\n\n")]
    listed = set()
    for row in table.splitlines()[2:]:
        listed.update(re.findall(r"`(\w+)`", row.split("|")[1]))
    assert SUBPROCESS_KEYWORDS | {"args"} <= listed, SUBPROCESS_KEYWORDS - listed
