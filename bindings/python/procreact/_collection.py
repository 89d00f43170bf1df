# SPDX-License-Identifier: MIT
"""A collection of running programs: a C batch fed with argument lists,
kept filled up to a limit, its results handed out in order or not."""

import collections
import ctypes
import errno as _errno
import os
from typing import Any, Deque, Dict, Iterator, List, Optional

from . import _lib
from ._options import _Options
from ._result import Result
from ._streams import DEVNULL, INHERIT, OUTPUT_MODE, PIPE

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


def _os_error() -> OSError:
    code = ctypes.get_errno()
    return OSError(code, os.strerror(code))


class _Batch:
    """A C batch (procreact_batch.h): argument lists go in and results come
    out in batches, one foreign call each way, whatever their number."""

    def __init__(self, opts: _Options, limit: int) -> None:
        self.opts = opts
        self.done: Deque[Result] = collections.deque()
        self._args: Dict[int, Any] = {}  # each job's command as given, by index, until its result
        self.outstanding = 0  # submitted and not yet handed out: procreact_batch_remaining(), kept here
        self._fd = -1
        self._closed = True
        cmd = _command([b"true"], opts)  # the template: its argv is not used
        try:
            batch = _lib.batch_new(cmd, limit)
        finally:
            _lib.command_free(cmd)
        if not batch:
            raise _os_error()
        self._batch = batch
        self._closed = False
        try:
            if opts.timeout is not None:
                _lib.batch_set_timeout(batch, opts.timeout)
            if opts.kill_after != 2.0:  # the library's default grace otherwise
                _lib.batch_set_stop(batch, 15, opts.kill_after)
            if opts.output_limit is not None:
                _lib.batch_set_output_limit(batch, opts.output_limit)
        except BaseException:
            self.close()
            raise
        self._capacity = max(2 * limit, 16)
        self._out = (_lib.BatchResult * self._capacity)()
        self._want_out = opts.stdout == PIPE
        self._want_err = opts.stderr == PIPE

    @property
    def fd(self) -> int:
        """The batch's descriptor for a main loop (asyncio), made on first use:
        a batch waited on only through :meth:`step` never needs one, and
        without it the library waits with poll(), no epoll call per program."""
        if self._fd < 0:
            fd = _lib.batch_fd(self._batch)
            if fd < 0:
                raise _os_error()
            self._fd = fd
        return self._fd

    @property
    def running(self) -> int:
        """Jobs submitted and not yet handed out (queued, running or ended)."""
        return int(_lib.batch_remaining(self._batch))

    def submit(self, words: List[bytes], counts: List[int], args: Dict[int, Any]) -> None:
        """Queues jobs in one call (they start in the next step): their
        argument lists one after the other in @p words, each one's length in
        @p counts, each one's command as given in @p args by index."""
        n = len(counts)
        argv = (ctypes.c_char_p * len(words))(*words)
        sizes = (ctypes.c_size_t * n)(*counts)
        if _lib.batch_submit(self._batch, argv, sizes, n) < 0:
            raise _os_error()
        self._args.update(args)
        self.outstanding += n

    def step(self, wait_ms: int = 0) -> int:
        """Starts queued jobs, and moves every ended one into :attr:`done`,
        waiting up to @p wait_ms for one to end; returns how many ended."""
        n = int(_lib.batch_wait(self._batch, self._out, self._capacity, wait_ms))
        if n < 0:
            raise _os_error()
        if n:
            self.outstanding -= n
            out = self._out
            append = self.done.append
            for i in range(n):
                append(self._result(out[i]))
        return n

    def _result(self, r: Any) -> Result:
        index = r.index
        opts = self.opts
        result = Result(self._args.pop(index), index, opts.timeout_given)
        if self._want_out:
            result.stdout = ctypes.string_at(r.stdout_data, r.stdout_length) if r.stdout_length else b""
        if self._want_err:
            result.stderr = ctypes.string_at(r.stderr_data, r.stderr_length) if r.stderr_length else b""
        info = r.info
        result.exec_errno = info.exec_errno
        if info.exited:
            result.returncode = info.exit_code
        signo = info.signal
        if signo:
            result.signal = signo
            result.returncode = -signo  # as subprocess reports it
        flags = info.flags
        if flags:
            result.timed_out = bool(flags & _lib.EXIT_TIMED_OUT)
            result.cancelled = bool(flags & _lib.EXIT_CANCELLED)
            result.output_limit = bool(flags & _lib.EXIT_OUTPUT_LIMIT)
        result.wall_time = info.wall_time
        result.cpu_time = info.user_time + info.system_time
        result.max_rss = info.max_rss_kib
        if r.status != _lib.STATUS_OK and not result.exec_errno and result.returncode is None:
            result.exec_errno = _errno.EIO  # waiting or reading failed
        return result

    def cancel(self) -> None:
        _lib.batch_cancel(self._batch)

    def drain_step(self, wait_ms: int = 0) -> bool:
        """After cancel(): takes ended jobs out (dropped), waiting up to
        @p wait_ms for one; whether any is left."""
        _lib.batch_wait(self._batch, self._out, self._capacity, wait_ms)
        return self.running > 0

    def close(self) -> None:
        """Stops every running child (the stop sequence) and waits for all of them."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.running:
                self.cancel()
                while self.drain_step(_WAIT_MS):
                    pass
        finally:
            _lib.batch_free(self._batch)  # kills and reaps anything still there
            self._args.clear()


# How long one wait in C may block before Python runs again: its signal
# handlers (KeyboardInterrupt) run only between foreign calls.
_WAIT_MS = 100


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
    """What run_many and run_many_async share: a batch kept filled up to
    twice the limit (the C side starts the next job as one ends, with no
    call from here), its results handed out, and when all of it is done.
    Only the waiting between two steps differs."""

    def __init__(self, commands: Iterator[Any], limit: int, ordered: bool, check: bool, opts: _Options) -> None:
        self.commands = enumerate(commands)
        self.opts = opts
        self.collection = _Batch(opts, limit)
        self.limit = limit
        self.ahead = 2 * limit
        self.order = _Ordered(ordered)
        self.check = check
        self.text = opts.text
        self.exhausted = False

    def _top_up(self) -> None:
        """Once no more than the limit are out (so at most the free slots
        could be filled from the queue), queues up to twice the limit: one
        submit per about ``limit`` programs."""
        collection = self.collection
        if self.exhausted or collection.outstanding > self.limit:
            return
        want = self.ahead - collection.outstanding
        words: List[bytes] = []
        counts: List[int] = []
        args: Dict[int, Any] = {}
        argv_of = self.opts.argv
        try:
            for index, command in self.commands:
                argv = argv_of(command)
                words += argv
                counts.append(len(argv))
                args[index] = command
                if len(counts) >= want:
                    break
            else:
                self.exhausted = True
        finally:  # what was taken runs, even when the next command was bad
            if counts:
                collection.submit(words, counts, args)

    def results(self) -> Iterator[Result]:
        """Queues jobs while fewer than twice the limit are out, then yields what completed."""
        self._top_up()
        for result in self.order.take(self.collection.done):
            text = self.text
            if text is not None:  # here, not in C: a decoding error is the caller's
                result.stdout = text.decode(result.stdout)
                result.stderr = text.decode(result.stderr)
            yield result.check() if self.check else result

    @property
    def finished(self) -> bool:
        collection = self.collection
        return self.exhausted and collection.outstanding == 0 and not collection.done
