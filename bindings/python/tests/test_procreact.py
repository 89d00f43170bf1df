# SPDX-License-Identifier: MIT
"""The Python binding, run as a user runs it."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import procreact

MARKER = f"procreact-pytest-{os.getpid()}"
# ["sh", "-c", "sleep 100", MARKER]: a shell (its $0 the marker) that sleeps.


def running_with_marker(marker):
    """Processes (not zombies) whose command line holds @marker."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in (b"Z", b"X"):
            found.append(int(pid))
    return found


# ------------------------------------------------------------------- run()


def test_version_matches_library():
    assert procreact.__version__.startswith("0.")
    assert procreact.__version__ == procreact._lib.VERSION


def test_run_captures_and_reports():
    r = procreact.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert r.returncode == 3 and r.signal is None and not r.timed_out
    assert r.stdout == b"out\n" and r.stderr == b"err\n"
    assert r.wall_time > 0 and r.cpu_time >= 0 and r.max_rss > 0
    assert not r.ok
    assert "returncode=3" in repr(r)


def test_run_input_cwd_env():
    with tempfile.TemporaryDirectory() as d:
        r = procreact.run(["sh", "-c", 'cat; pwd; echo "$A|${HOME-unset}"'], input=b"fed\n", cwd=d,
                          env={"A": "b c", "PATH": os.environ["PATH"]})
        assert r.stdout == f"fed\n{os.path.realpath(d)}\nb c|unset\n".encode()


def test_run_streams():
    r = procreact.run(["sh", "-c", "echo out; echo err >&2"], stdout=procreact.DEVNULL, stderr=procreact.STDOUT)
    assert r.stdout is None and r.stderr is None
    r = procreact.run(["sh", "-c", "echo out; echo err >&2"], stderr=procreact.STDOUT)
    assert r.stdout == b"out\nerr\n"
    with tempfile.TemporaryFile() as f:
        r = procreact.run(["echo", "to file"], stdout=f, stderr=procreact.DEVNULL)
        f.seek(0)
        assert f.read() == b"to file\n" and r.stdout is None
    r = procreact.run(["sh", "-c", "cat"], stdin=procreact.DEVNULL)
    assert r.stdout == b""


def test_run_exec_errors():
    with pytest.raises(FileNotFoundError) as info:
        procreact.run(["procreact-no-such-program"])
    assert info.value.errno == 2 and info.value.filename == "procreact-no-such-program"
    with tempfile.NamedTemporaryFile(suffix=".sh") as f:
        os.chmod(f.name, 0o644)
        with pytest.raises(PermissionError):
            procreact.run([f.name])


def test_run_timeout_reported_not_raised():
    start = time.monotonic()
    r = procreact.run(["sh", "-c", f"echo partial; exec sleep 100 # {MARKER}"], timeout=0.2)
    took = time.monotonic() - start
    assert r.timed_out and r.signal == signal.SIGTERM and r.returncode == -signal.SIGTERM
    assert r.stdout == b"partial\n"
    assert 0.19 <= took < 3
    with pytest.raises(procreact.TimeoutExpired) as info:
        procreact.run(["sleep", "100"], timeout=0.1, check=True)
    assert info.value.result.timed_out


def test_stop_sequence_kills_after_grace():
    start = time.monotonic()
    r = procreact.run(["sh", "-c", f"trap '' TERM; while :; do sleep 0.05; done # {MARKER}"], timeout=0.1,
                      kill_after=0.3)
    took = time.monotonic() - start
    assert r.timed_out and r.signal == signal.SIGKILL
    assert 0.35 <= took < 3
    assert running_with_marker(MARKER) == []


def test_check_raises_for_exit_and_signal():
    with pytest.raises(procreact.CalledProcessError) as info:
        procreact.run(["sh", "-c", "exit 4"], check=True)
    assert info.value.result.returncode == 4
    with pytest.raises(procreact.ProcessError):
        procreact.run(["sh", "-c", "kill -9 $$"], check=True)
    assert procreact.run(["true"], check=True).ok


def test_output_limit():
    r = procreact.run(["yes"], output_limit=1000)
    assert len(r.stdout) == 1000 and r.stdout.startswith(b"y\ny\n")


def test_bad_input_before_anything_runs():
    with pytest.raises(TypeError):
        procreact.run([1, 2])
    with pytest.raises(TypeError):
        procreact.run(None)
    with pytest.raises(ValueError):
        procreact.run(["echo", "a\0b"])
    with pytest.raises(ValueError):
        procreact.run([])
    with pytest.raises(ValueError):
        procreact.run(["echo"], env={"A\0": "b"})
    with pytest.raises(ValueError):
        procreact.run(["echo"], env={"A=B": "c"})
    with pytest.raises(TypeError):
        procreact.run(["echo"], timeout="1")
    with pytest.raises(ValueError):
        procreact.run(["echo"], timeout=-1)
    with pytest.raises(TypeError):
        procreact.run(["echo"], input="text, not bytes")
    with pytest.raises(TypeError):
        procreact.run(["echo"], stdout=object())
    with pytest.raises(TypeError):
        procreact.run(["echo"], bogus=1)
    with pytest.raises(ValueError):
        list(procreact.run_many([["true"]], limit=0))
    with pytest.raises(ValueError):
        procreact.run(["echo"], cwd="a\0b")


# -------------------------------------------------------------- run_many()


def test_run_many_thousand_with_limit(tmp_path):
    results = list(procreact.run_many([["/bin/true"]] * 1000, limit=8))
    assert len(results) == 1000 and all(r.ok for r in results)
    assert sorted(r.index for r in results) == list(range(1000))
    # The limit holds: each job records how many run at once.
    script = (f"mkdir {tmp_path}/run.$$; ls {tmp_path} | grep -c run. >> {tmp_path}/counts.txt; "
              f"sleep 0.05; rmdir {tmp_path}/run.$$")
    list(procreact.run_many([["sh", "-c", script]] * 40, limit=4))
    counts = [int(line) for line in (tmp_path / "counts.txt").read_text().split()]
    assert len(counts) == 40 and max(counts) <= 4 and max(counts) >= 2


def test_run_many_ordered_and_lazy():
    def commands():
        for delay in ("0.3", "0.1", "0"):
            yield ["sh", "-c", f"sleep {delay}; echo {delay}"]
    ordered = [r.stdout for r in procreact.run_many(commands(), limit=3, ordered=True)]
    assert ordered == [b"0.3\n", b"0.1\n", b"0\n"]
    unordered = [r.stdout for r in procreact.run_many(commands(), limit=3)]
    assert unordered == [b"0\n", b"0.1\n", b"0.3\n"]


def test_run_many_exec_errors_in_results():
    results = list(procreact.run_many([["procreact-no-such-program"], ["true"]], limit=2, ordered=True))
    assert results[0].exec_errno == 2 and results[1].ok
    with pytest.raises(FileNotFoundError):
        list(procreact.run_many([["procreact-no-such-program"]], check=True))


def test_run_many_hands_commands_over_in_batches(monkeypatch):
    # One foreign call for many commands, none per program, and `commands`
    # read at most twice the limit ahead of the results.
    from procreact import _lib
    sizes = []
    real_submit = _lib.batch_submit

    def counting_submit(batch, argv, counts, n):
        sizes.append(n)
        return real_submit(batch, argv, counts, n)
    monkeypatch.setattr(_lib, "batch_submit", counting_submit)
    pulled = []

    def commands():
        for i in range(100):
            pulled.append(i)
            yield ["sh", "-c", f"exit {i % 3}"]
    results = procreact.run_many(commands(), limit=4)
    try:
        first = next(results)
        assert sizes[0] == 8 and len(pulled) == sum(sizes) <= 8 + 8  # one wait hands out 8 at most
        rest = list(results)
    finally:
        results.close()
    assert sorted(r.index for r in [first] + rest) == list(range(100))
    assert all(r.returncode == r.index % 3 for r in [first] + rest)
    assert sum(sizes) == 100 and len(sizes) < 100


def test_leaving_early_stops_and_reaps():
    start = time.monotonic()
    for result in procreact.run_many([["sh", "-c", "exit 0"]] + [["sh", "-c", "sleep 100", MARKER]] * 5, limit=6):
        break  # the generator is closed here
    assert time.monotonic() - start < 3
    assert running_with_marker(MARKER) == []


def test_exception_inside_loop_stops_everything():
    with pytest.raises(RuntimeError):
        for result in procreact.run_many([["true"]] + [["sh", "-c", "sleep 100", MARKER]] * 3, limit=4):
            raise RuntimeError("boom")
    assert running_with_marker(MARKER) == []


def test_keyboard_interrupt_stops_everything():
    def interrupt_soon():
        time.sleep(0.3)
        signal.raise_signal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else \
            os.kill(os.getpid(), signal.SIGINT)
    thread = threading.Thread(target=interrupt_soon)
    thread.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for _ in procreact.run_many([["sh", "-c", "sleep 100", MARKER]] * 4, limit=4):
            pass
    thread.join()
    assert time.monotonic() - start < 5
    assert running_with_marker(MARKER) == []


def test_alongside_subprocess_and_asyncio_subprocesses():
    async def main():
        proc = await asyncio.create_subprocess_exec("sh", "-c", "sleep 0.2; exit 7")
        popen = subprocess.Popen(["sh", "-c", "sleep 0.1; exit 5"])
        ours = [r async for r in procreact.run_many_async([["sh", "-c", f"sleep 0.0{i}; exit {i}"]
                                                             for i in range(8)], limit=3)]
        assert sorted(r.returncode for r in ours) == list(range(8))
        assert await proc.wait() == 7
        assert popen.wait() == 5
        assert subprocess.run(["sh", "-c", "exit 9"]).returncode == 9
    asyncio.run(main())
    # And from plain threads with subprocess.run at the same time as run_many.
    codes = []
    thread = threading.Thread(target=lambda: codes.extend(
        subprocess.run(["sh", "-c", f"exit {i}"]).returncode for i in range(20)))
    thread.start()
    ours = [r.returncode for r in procreact.run_many([["sh", "-c", f"exit {i % 5}"] for i in range(50)], limit=4)]
    thread.join()
    assert sorted(ours) == sorted(i % 5 for i in range(50))
    assert codes == list(range(20))


# ---------------------------------------------------------------- asyncio


def test_run_async():
    async def main():
        r = await procreact.run_async(["sh", "-c", "cat", ], input=b"async")
        assert r.stdout == b"async" and r.ok
        with pytest.raises(FileNotFoundError):
            await procreact.run_async(["procreact-no-such-program"])
        r = await procreact.run_async(["sleep", "100"], timeout=0.1)
        assert r.timed_out
    asyncio.run(main())


def test_asyncio_cancellation_stops_children():
    async def main():
        async def consume():
            async for _ in procreact.run_many_async([["sh", "-c", "sleep 100", MARKER]] * 3, limit=3):
                pass
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        assert len(running_with_marker(MARKER)) == 3
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        single = asyncio.create_task(procreact.run_async(["sh", "-c", "sleep 100", MARKER]))
        await asyncio.sleep(0.2)
        single.cancel()
        with pytest.raises(asyncio.CancelledError):
            await single
    start = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - start < 5
    assert running_with_marker(MARKER) == []


def test_asyncio_loop_stays_responsive():
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1
        t = asyncio.create_task(ticker())
        results = [r async for r in procreact.run_many_async([["sleep", "0.3"]] * 4, limit=4)]
        t.cancel()
        assert len(results) == 4 and ticks >= 10  # the loop ran while the children slept
    asyncio.run(main())


def test_import_error_for_missing_library():
    env = dict(os.environ, PROCREACT_LIBRARY="/nonexistent/libprocreact.so.0")
    r = subprocess.run([sys.executable, "-c", "import procreact"], env=env, capture_output=True)
    assert r.returncode != 0 and b"cannot load the C library" in r.stderr


def test_single_program_name_as_args():
    assert procreact.run("true").ok
    with pytest.raises(FileNotFoundError) as info:
        procreact.run("procreact-no-such-program")
    assert info.value.filename == "procreact-no-such-program"
