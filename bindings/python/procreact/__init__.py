# SPDX-License-Identifier: MIT
"""Run programs from Python through procreact, the C process library.

No code of yours runs in a child: programs are started with posix_spawn()
by the C library, which waits for them through pidfds, never with a SIGCHLD
handler, so it coexists with :mod:`subprocess`, :mod:`asyncio` child
watchers and anything else that runs children.

- :func:`run` runs one program and returns a :class:`Result`.
- :func:`run_many` runs many, at most ``limit`` at once, and yields results
  as they complete (or in input order).
- :func:`run_async` and :func:`run_many_async` are the same for asyncio,
  driven by the collection's descriptor through ``loop.add_reader()``.

A timeout stops a program with a stop sequence (SIGTERM to its process
group, SIGKILL ``kill_after`` seconds later) and is reported in the result
(``timed_out``), not raised; ``check=True`` raises for a failure.
"""

import asyncio
import collections
import ctypes
import errno as _errno
import os
import select
from typing import (Any, AsyncIterator, Deque, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence,
                    Union)

from . import _lib

__all__ = [
    "CAPTURE", "DEVNULL", "INHERIT", "STDOUT", "Result", "ProcessError", "CalledProcessError",
    "TimeoutExpired", "run", "run_many", "run_async", "run_many_async", "__version__",
]

__version__: str = _lib.VERSION

CAPTURE = -1
"""Capture the stream into the result (the default for stdout and stderr)."""
DEVNULL = -2
"""Connect the stream to /dev/null."""
INHERIT = -3
"""Let the program use this process's own stream."""
STDOUT = -4
"""For stderr: send it wherever stdout goes."""

Arg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Stream = Union[int, Any]

_OUTPUT_TYPE = _lib.create_output_type()


class Result:
    """How one program ended, and what it wrote."""

    __slots__ = ("args", "index", "returncode", "signal", "timed_out", "cancelled", "exec_errno", "stdout",
                 "stderr", "wall_time", "cpu_time", "max_rss")

    def __init__(self, args: List[bytes], index: int) -> None:
        self.args: List[Union[str, bytes]] = args  # as given
        self.index: int = index
        self.returncode: Optional[int] = None
        """The exit code; None when a signal ended it or it never ran."""
        self.signal: Optional[int] = None
        """The signal that ended it, or None."""
        self.timed_out: bool = False
        self.cancelled: bool = False
        self.exec_errno: int = 0
        """Why the program could not be run (an errno value), or 0."""
        self.stdout: Optional[bytes] = None
        self.stderr: Optional[bytes] = None
        self.wall_time: float = 0.0
        self.cpu_time: float = 0.0
        """User plus system time of the program, in seconds."""
        self.max_rss: int = 0
        """Peak resident memory of the program, in KiB, as the kernel counts it.

        Linux counts the parent's memory as the program's until it executes:
        the value is at least this process's own peak resident size (VmHWM)
        when the program was started, so it is the program's own peak only
        when that is larger (a ``sleep`` started from a process that once
        held 400 MiB reports about 400 MiB)."""

    @property
    def ok(self) -> bool:
        """Whether it ran, exited with 0 and was not stopped."""
        return self.exec_errno == 0 and self.returncode == 0 and not self.timed_out and not self.cancelled

    def check(self) -> "Result":
        """Raises :class:`ProcessError` unless :attr:`ok`; returns self."""
        if self.exec_errno:
            raise _exec_error(self)
        if self.timed_out:
            raise TimeoutExpired(self)
        if not self.ok:
            raise CalledProcessError(self)
        return self

    def __repr__(self) -> str:
        parts = [f"args={self.args!r}"]
        if self.exec_errno:
            parts.append(f"exec_errno={self.exec_errno} ({os.strerror(self.exec_errno)})")
        else:
            parts.append(f"returncode={self.returncode!r}")
            if self.signal is not None:
                parts.append(f"signal={self.signal}")
        if self.timed_out:
            parts.append("timed_out=True")
        if self.cancelled:
            parts.append("cancelled=True")
        for name in ("stdout", "stderr"):
            value = getattr(self, name)
            if value is not None:
                shown = value if len(value) <= 60 else value[:57] + b"..."
                parts.append(f"{name}={shown!r}")
        parts.append(f"wall_time={self.wall_time:.3f}")
        return f"Result({', '.join(parts)})"


class ProcessError(Exception):
    """A program failed (``check=True``); :attr:`result` says how."""

    def __init__(self, result: Result) -> None:
        self.result = result
        super().__init__(self._describe(result))

    @staticmethod
    def _describe(result: Result) -> str:
        if result.timed_out:
            return f"{result.args!r} timed out after {result.wall_time:.3f} s"
        if result.signal is not None:
            return f"{result.args!r} was killed by signal {result.signal}"
        return f"{result.args!r} exited with {result.returncode}"


class CalledProcessError(ProcessError):
    """The program exited with a non-zero code or was killed by a signal."""


class TimeoutExpired(ProcessError):
    """The program ran past its timeout and was stopped."""


def _exec_error(result: Result) -> OSError:
    code = result.exec_errno
    program = result.args[0] if result.args else None
    # OSError picks the subclass from the errno: FileNotFoundError, PermissionError, ...
    return OSError(code, os.strerror(code), program)


# ---------------------------------------------------------------- options


def _arg_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (str, bytes, os.PathLike)):
        data = os.fsencode(value)
    else:
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(value).__name__}")
    if b"\0" in data:
        raise ValueError(f"embedded null byte in {what}")
    return data


def _fd_of(stream: Any, what: str) -> int:
    if isinstance(stream, bool):
        raise TypeError(f"{what} must be CAPTURE, DEVNULL, INHERIT, a file descriptor or a file object")
    if isinstance(stream, int):
        if stream < 0:
            raise ValueError(f"{what}: bad file descriptor {stream}")
        return stream
    fileno = getattr(stream, "fileno", None)
    if fileno is None:
        raise TypeError(f"{what} must be CAPTURE, DEVNULL, INHERIT, a file descriptor or a file object")
    return int(fileno())


class _Options:
    """Validated per-command options (checked before anything runs)."""

    __slots__ = ("input", "cwd", "env", "timeout", "kill_after", "stdin", "stdout", "stderr", "output_limit",
                 "new_group")

    def __init__(self, *, input: Optional[bytes] = None, cwd: Optional[Arg] = None,
                 env: Optional[Mapping[Any, Any]] = None, timeout: Optional[float] = None,
                 kill_after: float = 2.0, stdin: Stream = DEVNULL, stdout: Stream = CAPTURE,
                 stderr: Stream = CAPTURE, output_limit: Optional[int] = None) -> None:
        if input is not None and not isinstance(input, (bytes, bytearray, memoryview)):
            raise TypeError(f"input must be bytes, not {type(input).__name__}")
        self.input = bytes(input) if input is not None else None
        self.cwd = _arg_bytes(cwd, "cwd") if cwd is not None else None
        if env is not None:
            if not isinstance(env, Mapping):
                raise TypeError(f"env must be a mapping, not {type(env).__name__}")
            entries = []
            for key, value in env.items():
                k = _arg_bytes(key, "env key")
                if not k or b"=" in k:
                    raise ValueError(f"illegal environment variable name {key!r}")
                entries.append(k + b"=" + _arg_bytes(value, "env value"))
            self.env: Optional[List[bytes]] = entries
        else:
            self.env = None
        self.timeout = self._seconds(timeout, "timeout") if timeout is not None else None
        self.kill_after = self._seconds(kill_after, "kill_after")
        if stdin not in (DEVNULL, INHERIT):
            stdin = _fd_of(stdin, "stdin")
        if self.input is not None and stdin not in (DEVNULL,):
            raise ValueError("input and stdin cannot both be given")
        self.stdin = stdin
        self.stdout = stdout if stdout in (CAPTURE, DEVNULL, INHERIT) else _fd_of(stdout, "stdout")
        self.stderr = stderr if stderr in (CAPTURE, DEVNULL, INHERIT, STDOUT) else _fd_of(stderr, "stderr")
        if output_limit is not None:
            if isinstance(output_limit, bool) or not isinstance(output_limit, int):
                raise TypeError("output_limit must be an int")
            if output_limit < 0:
                raise ValueError("output_limit must be 0 or more")
        self.output_limit = output_limit
        self.new_group = True

    @staticmethod
    def _seconds(value: Any, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
        value = float(value)
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"{what} must be a finite number of seconds, 0 or more")
        return value


_OUTPUT_MODE = {CAPTURE: _lib.OUTPUT_CAPTURE, DEVNULL: _lib.OUTPUT_DISCARD, INHERIT: _lib.OUTPUT_INHERIT,
                STDOUT: _lib.OUTPUT_MERGE}


def _argv(args: Any) -> List[bytes]:
    if isinstance(args, (str, bytes, os.PathLike)):
        args = [args]
    try:
        items = list(args)
    except TypeError:
        raise TypeError(f"args must be a sequence of str, bytes or os.PathLike, not {type(args).__name__}") from None
    if not items:
        raise ValueError("args must not be empty")
    return [_arg_bytes(item, "args") for item in items]


def _command(argv: List[bytes], opts: _Options) -> int:
    array = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    cmd = _lib.command_new(array)
    if not cmd:
        raise MemoryError("procreact_command_new")
    try:
        if opts.cwd is not None:
            _lib.command_set_cwd(cmd, opts.cwd)
        if opts.env is not None:
            _lib.command_clear_env(cmd)
            for entry in opts.env:
                _lib.command_put_env(cmd, entry)
        _lib.command_set_new_process_group(cmd, 1)
        if opts.input is not None:
            _lib.command_set_stdin_bytes(cmd, opts.input, len(opts.input))
        elif opts.stdin == INHERIT:
            _lib.command_set_stdin(cmd, _lib.STDIN_INHERIT, -1)
        elif opts.stdin != DEVNULL:
            _lib.command_set_stdin(cmd, _lib.STDIN_FD, opts.stdin)
        if opts.stdout != CAPTURE:
            mode = _OUTPUT_MODE.get(opts.stdout, _lib.OUTPUT_FD)
            _lib.command_set_stdout(cmd, mode, opts.stdout if mode == _lib.OUTPUT_FD else -1)
        mode = _OUTPUT_MODE.get(opts.stderr, _lib.OUTPUT_FD)
        _lib.command_set_stderr(cmd, mode, opts.stderr if mode == _lib.OUTPUT_FD else -1)
    except BaseException:
        _lib.command_free(cmd)
        raise
    return cmd


# ------------------------------------------------------------- collection


class _Job:
    __slots__ = ("index", "args", "argv", "opts")

    def __init__(self, index: int, args: Any, argv: List[bytes], opts: _Options) -> None:
        self.index = index
        self.args = args
        self.argv = argv
        self.opts = opts


class _Collection:
    """A future iterator fed with spawned futures (procreact_future_iterator_add)."""

    def __init__(self) -> None:
        self._it = _lib.FutureIterator()
        self._on_complete_c = _lib.COMPLETE(self._on_complete)  # kept alive with the collection
        self._it.complete = self._on_complete_c
        self._ptr = ctypes.pointer(self._it)
        self._jobs: Dict[int, _Job] = {}
        self._adding: Optional[_Job] = None
        self.done: Deque[Result] = collections.deque()
        self._error: Optional[BaseException] = None
        self._closed = False
        fd = _lib.iterator_fd(self._ptr)
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        self.fd = fd

    @property
    def running(self) -> int:
        return self._it.running_processes

    def add(self, job: _Job) -> None:
        opts = job.opts
        cmd = _command(job.argv, opts)
        try:
            future = _lib.command_spawn(cmd, _OUTPUT_TYPE)
        finally:
            _lib.command_free(cmd)
        ref = ctypes.byref(future)
        if future.pid > 0:
            if opts.timeout is not None:
                _lib.future_set_timeout(ref, opts.timeout)
            if opts.kill_after != 2.0:  # the library's default grace otherwise
                _lib.future_set_stop(ref, 15, opts.kill_after)
            if opts.output_limit is not None:
                _lib.future_set_output_limit(ref, opts.output_limit)
            self._jobs[future.pid] = job
        self._adding = job
        try:
            _lib.iterator_add(self._ptr, ref)
        finally:
            self._adding = None
        self._raise_pending()

    def fill(self, jobs: Iterator[_Job], limit: int) -> bool:
        """Starts jobs while fewer than @p limit run; returns whether @p jobs is exhausted."""
        while self.running < limit:
            job = next(jobs, None)
            if job is None:
                return True
            self.add(job)
            if len(self.done) >= limit:
                break  # failed spawns: hand them out before starting more
        return False

    def _on_complete(self, data: Any, future_p: Any, status: int) -> None:
        # Never lets an exception into C: it is kept and raised by the caller.
        try:
            future = future_p.contents
            job = self._jobs.pop(future.pid, None) if future.pid > 0 else self._adding
            info = _lib.ExitInfo()
            have_info = _lib.future_info(future_p, ctypes.byref(info)) == 0
            stdout = None
            if future.result:
                state = _lib.BytesState.from_address(future.result)
                if job is not None and job.opts.stdout == CAPTURE:
                    stdout = ctypes.string_at(state.data, state.data_size) if state.data_size else b""
                if state.data:
                    _lib.libc.free(state.data)
                _lib.libc.free(future.result)
                future.result = None
            stderr = None
            if have_info and info.stderr_data:
                stderr = ctypes.string_at(info.stderr_data, info.stderr_length)
                _lib.libc.free(info.stderr_data)
            if job is None:
                return
            result = Result(job.args, job.index)
            if job.opts.stderr == CAPTURE:
                result.stderr = stderr if stderr is not None else b""
            if job.opts.stdout == CAPTURE:
                result.stdout = stdout if stdout is not None else b""
            if have_info:
                result.exec_errno = info.exec_errno
                if info.exited:
                    result.returncode = info.exit_code
                if info.signal:
                    result.signal = info.signal
                result.timed_out = bool(info.flags & _lib.EXIT_TIMED_OUT)
                result.cancelled = bool(info.flags & _lib.EXIT_CANCELLED)
                result.wall_time = info.wall_time
                result.cpu_time = info.user_time + info.system_time
                result.max_rss = info.max_rss_kib
            elif status != 0:
                result.exec_errno = _errno.EIO
            self.done.append(result)
        except BaseException as error:  # noqa: B902 - anything, even KeyboardInterrupt, waits for the caller
            if self._error is None:
                self._error = error

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def step(self) -> int:
        active = _lib.iterator_step(self._ptr, 0)
        self._raise_pending()
        return active

    def cancel(self) -> None:
        _lib.iterator_cancel(self._ptr)

    def close(self) -> None:
        """Stops every running child (the stop sequence) and waits for all of them."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.running:
                self.cancel()
                poller = select.poll()
                poller.register(self.fd, select.POLLIN)
                while _lib.iterator_step(self._ptr, 0) == 1:
                    poller.poll(1000)
        finally:
            _lib.iterator_destroy(self._ptr)  # kills and reaps anything still there
            self._jobs.clear()


def _jobs(commands: Iterable[Any], opts: _Options) -> Iterator[_Job]:
    for index, args in enumerate(commands):
        yield _Job(index, args, _argv(args), opts)


def _check_limit(limit: Optional[int]) -> int:
    if limit is None:
        return os.cpu_count() or 1
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError("limit must be an int")
    if limit < 1:
        raise ValueError("limit must be 1 or more")
    return limit


class _Ordered:
    """Hands results out in input order when asked to."""

    def __init__(self, ordered: bool) -> None:
        self.ordered = ordered
        self.waiting: Dict[int, Result] = {}
        self.next_index = 0

    def take(self, done: Deque[Result]) -> Iterator[Result]:
        while done:
            result = done.popleft()
            if not self.ordered:
                yield result
                continue
            self.waiting[result.index] = result
            while self.next_index in self.waiting:
                yield self.waiting.pop(self.next_index)
                self.next_index += 1


def run_many(commands: Iterable[Sequence[Arg]], *, limit: Optional[int] = None, ordered: bool = False,
             check: bool = False, **options: Any) -> Iterator[Result]:
    """Runs every command of ``commands`` (argument lists, consumed lazily),
    at most ``limit`` at once (default: the number of CPUs), and yields a
    :class:`Result` for each as it completes, or in input order with
    ``ordered=True``. Each result's ``index`` is its position in the input.

    The options are those of :func:`run` and apply to every command. A
    program that cannot be executed gives a result with ``exec_errno`` set
    (with ``check=True``, the :class:`OSError` is raised instead, as for any
    failure). Leaving the loop early, an exception or ``KeyboardInterrupt``
    stops every running child with its stop sequence and waits for all of
    them: none is left behind.
    """
    opts = _Options(**options)
    return _run_many(iter(commands), _check_limit(limit), ordered, check, opts)


class _Feed:
    """What run_many and run_many_async share: a collection kept filled up to
    the limit, its results handed out, and when all of it is done. Only the
    waiting between two steps differs."""

    def __init__(self, commands: Iterator[Any], limit: int, ordered: bool, check: bool, opts: _Options) -> None:
        self.jobs = _jobs(commands, opts)
        self.collection = _Collection()
        self.limit = limit
        self.order = _Ordered(ordered)
        self.check = check
        self.exhausted = False

    def results(self) -> Iterator[Result]:
        """Starts jobs while fewer than the limit run, then yields what completed."""
        self.exhausted = self.exhausted or self.collection.fill(self.jobs, self.limit)
        for result in self.order.take(self.collection.done):
            yield result.check() if self.check else result

    @property
    def finished(self) -> bool:
        collection = self.collection
        return self.exhausted and collection.running == 0 and not collection.done


def _run_many(commands: Iterator[Any], limit: int, ordered: bool, check: bool, opts: _Options) -> Iterator[Result]:
    feed = _Feed(commands, limit, ordered, check, opts)
    collection = feed.collection
    poller = select.poll()
    poller.register(collection.fd, select.POLLIN)
    try:
        while True:
            yield from feed.results()
            if feed.finished:
                break
            if collection.running:
                poller.poll()
                collection.step()
    finally:
        collection.close()


def run(args: Sequence[Arg], *, check: bool = False, **options: Any) -> Result:
    """Runs one program and returns its :class:`Result`.

    Options: ``input`` (bytes fed to its stdin), ``stdin`` (DEVNULL, the
    default, INHERIT, or a descriptor or file), ``cwd``, ``env`` (a mapping
    that replaces the environment), ``timeout`` (seconds; the stop sequence
    runs when it passes and ``timed_out`` says so), ``kill_after`` (the
    grace between SIGTERM and SIGKILL, 2 s), ``stdout`` and ``stderr``
    (CAPTURE, the default, DEVNULL, INHERIT, a descriptor or a file; stderr
    also STDOUT), ``output_limit`` (a cap in bytes on each captured stream).

    The program runs in a process group of its own, which the stop sequence
    signals. A program that cannot be executed raises
    :class:`FileNotFoundError`, :class:`PermissionError` or another
    :class:`OSError`, as :mod:`subprocess` does. With ``check=True`` a
    non-zero exit, a signal or a timeout raises :class:`ProcessError`.
    Wrong types raise :class:`TypeError` and NUL bytes :class:`ValueError`,
    before anything runs.
    """
    opts = _Options(**options)
    _argv(args)
    results = _run_many(iter([args]), 1, False, False, opts)
    try:
        for result in results:
            if result.exec_errno:
                raise _exec_error(result)
            return result.check() if check else result
    finally:
        results.close()
    raise RuntimeError("procreact: no result")  # pragma: no cover - a collection always completes


# ---------------------------------------------------------------- asyncio


async def _drain(collection: _Collection, wake: asyncio.Event) -> None:
    collection.cancel()
    while collection.step() == 1:
        await wake.wait()
        wake.clear()


async def run_many_async(commands: Iterable[Sequence[Arg]], *, limit: Optional[int] = None,
                         ordered: bool = False, check: bool = False, **options: Any) -> AsyncIterator[Result]:
    """:func:`run_many` for asyncio: ``async for result in run_many_async(...)``.

    Driven by the collection's descriptor through ``loop.add_reader()``: no
    thread, no SIGCHLD handler, no child watcher. Cancelling the task (or
    leaving the loop) stops every running child with its stop sequence and
    waits for all of them.
    """
    opts = _Options(**options)
    limit = _check_limit(limit)
    loop = asyncio.get_running_loop()
    feed = _Feed(iter(commands), limit, ordered, check, opts)
    collection = feed.collection
    wake = asyncio.Event()
    loop.add_reader(collection.fd, wake.set)
    try:
        while True:
            for result in feed.results():
                yield result
            if feed.finished:
                break
            if collection.running:
                await wake.wait()
                wake.clear()
                collection.step()
    finally:
        try:
            if collection.running:
                await _drain(collection, wake)
        except BaseException:
            pass  # a second cancellation: close() below still stops and reaps them
        finally:
            loop.remove_reader(collection.fd)
            collection.close()


async def run_async(args: Sequence[Arg], *, check: bool = False, **options: Any) -> Result:
    """:func:`run` for asyncio: ``result = await run_async([...])``. Cancelling
    the task stops the program with its stop sequence."""
    opts = _Options(**options)
    _argv(args)
    agen = run_many_async([args], limit=1, **_options_dict(opts))
    try:
        async for result in agen:
            if result.exec_errno:
                raise _exec_error(result)
            return result.check() if check else result
    finally:
        await agen.aclose()
    raise RuntimeError("procreact: no result")  # pragma: no cover


def _options_dict(opts: _Options) -> Dict[str, Any]:
    return {
        "input": opts.input, "cwd": opts.cwd, "env": None if opts.env is None else _env_back(opts.env),
        "timeout": opts.timeout, "kill_after": opts.kill_after, "stdin": opts.stdin, "stdout": opts.stdout,
        "stderr": opts.stderr, "output_limit": opts.output_limit,
    }


def _env_back(entries: List[bytes]) -> Dict[bytes, bytes]:
    return dict(entry.split(b"=", 1) for entry in entries)  # type: ignore[misc]
