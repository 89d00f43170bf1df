# SPDX-License-Identifier: MIT
"""A collection of running programs: a C future iterator fed with spawned
futures, kept filled up to a limit, its results handed out in order or not."""

import collections
import ctypes
import errno as _errno
import os
import select
from typing import Any, Deque, Dict, Iterable, Iterator, List, Optional

from . import _lib
from ._options import _Options
from ._result import Result
from ._streams import DEVNULL, INHERIT, OUTPUT_MODE, PIPE

_OUTPUT_TYPE = _lib.create_output_type()


def _command(argv: List[bytes], opts: _Options) -> int:
    array = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    cmd: int = _lib.command_new(array)
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
        for fd in opts.pass_fds:
            _lib.command_pass_fd(cmd, fd)
        if opts.input is not None:
            _lib.command_set_stdin_bytes(cmd, opts.input, len(opts.input))
        elif opts.stdin == PIPE:  # subprocess.run closes an unused stdin pipe at once: an empty input
            _lib.command_set_stdin_bytes(cmd, b"", 0)
        elif opts.stdin is INHERIT:
            _lib.command_set_stdin(cmd, _lib.STDIN_INHERIT, -1)
        elif opts.stdin != DEVNULL:
            _lib.command_set_stdin(cmd, _lib.STDIN_FD, opts.stdin)
        if opts.stdout != PIPE:
            mode = OUTPUT_MODE.get(opts.stdout, _lib.OUTPUT_FD)
            _lib.command_set_stdout(cmd, mode, opts.stdout if mode == _lib.OUTPUT_FD else -1)
        mode = OUTPUT_MODE.get(opts.stderr, _lib.OUTPUT_FD)
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
        return int(self._it.running_processes)

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
                if job is not None and job.opts.stdout == PIPE:
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
            result = Result(job.args, job.index, job.opts.timeout_given)
            if job.opts.stderr == PIPE:
                result.stderr = stderr if stderr is not None else b""
            if job.opts.stdout == PIPE:
                result.stdout = stdout if stdout is not None else b""
            if have_info:
                result.exec_errno = info.exec_errno
                if info.exited:
                    result.returncode = info.exit_code
                if info.signal:
                    result.signal = info.signal
                    result.returncode = -info.signal  # as subprocess reports it
                result.timed_out = bool(info.flags & _lib.EXIT_TIMED_OUT)
                result.cancelled = bool(info.flags & _lib.EXIT_CANCELLED)
                result.output_limit = bool(info.flags & _lib.EXIT_OUTPUT_LIMIT)
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
        active = int(_lib.iterator_step(self._ptr, 0))
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
        yield _Job(index, args, opts.argv(args), opts)


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
        self.text = opts.text
        self.exhausted = False

    def results(self) -> Iterator[Result]:
        """Starts jobs while fewer than the limit run, then yields what completed."""
        self.exhausted = self.exhausted or self.collection.fill(self.jobs, self.limit)
        for result in self.order.take(self.collection.done):
            text = self.text
            if text is not None:  # here, not in the C callback: a decoding error is the caller's
                result.stdout = text.decode(result.stdout)
                result.stderr = text.decode(result.stderr)
            yield result.check() if self.check else result

    @property
    def finished(self) -> bool:
        collection = self.collection
        return self.exhausted and collection.running == 0 and not collection.done
