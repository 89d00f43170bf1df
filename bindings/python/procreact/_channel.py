# SPDX-License-Identifier: MIT
"""A program with a message channel: send()/recv() while it runs (procreact_channel.h)."""

import asyncio
import ctypes
import os
import pickle
from typing import Any, Collection, Optional

from . import _lib
from ._collection import _command
from ._options import Arg, Args, _Options, _seconds
from ._streams import DEVNULL, Stream

FRAMED, LINES = 1, 2
"""Channel modes: length-prefixed (multiprocessing.connection's framing) or one message per line."""

_P = ctypes.c_void_p


def _declare_all() -> Any:
    d = _lib._declare
    ns = type("ChannelFunctions", (), {})()
    ns.set_channel = d("procreact_command_set_channel", ctypes.c_int, _P, ctypes.c_int)
    ns.future_channel = d("procreact_future_channel", _P, _lib.P_FUTURE)
    ns.free = d("procreact_channel_free", None, _P)
    ns.fd = d("procreact_channel_fd", ctypes.c_int, _P)
    ns.set_max = d("procreact_channel_set_max_message", ctypes.c_int, _P, ctypes.c_uint64)
    ns.send = d("procreact_channel_send", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_size_t, _P, ctypes.c_uint)
    ns.send_wait = d("procreact_channel_send_wait", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_size_t, _P,
                     ctypes.c_uint, ctypes.c_int)
    ns.flush = d("procreact_channel_flush", ctypes.c_int, _P, ctypes.c_int)
    ns.queued = d("procreact_channel_queued", ctypes.c_size_t, _P)
    ns.shutdown = d("procreact_channel_shutdown", ctypes.c_int, _P)
    ns.recv = d("procreact_channel_recv", ctypes.c_int, _P, ctypes.POINTER(_P), ctypes.c_int)
    ns.try_recv = d("procreact_channel_try_recv", ctypes.c_int, _P, ctypes.POINTER(_P))
    ns.msg_data = d("procreact_message_data", _P, _P)
    ns.msg_size = d("procreact_message_size", ctypes.c_uint64, _P)
    ns.msg_free = d("procreact_message_free", None, _P)
    ns.get_with_info = d("procreact_future_get_with_info", _P, _lib.P_FUTURE, ctypes.POINTER(ctypes.c_int),
                         ctypes.POINTER(_lib.ExitInfo))
    ns.destroy = d("procreact_destroy_future", None, _lib.P_FUTURE)
    return ns


try:
    _c: Any = _declare_all()
except AttributeError:  # a library without procreact_channel.h (before 0.5)
    _c = None


def _timeout_ms(timeout: Optional[float]) -> int:
    if timeout is None:
        return -1
    return int(_seconds(timeout, "timeout") * 1000 + 0.999)


def _oserror(what: str) -> OSError:
    error = ctypes.get_errno()
    if error == 110:  # ETIMEDOUT
        return TimeoutError(error, f"{what}: timed out")
    return OSError(error, f"{what}: {os.strerror(error)}")


class ChannelProcess:
    """A program started with a message channel (the parent's end of it).

    The program finds its end in the environment: ``PROCREACT_CHANNEL_FD``
    (a descriptor number) and ``PROCREACT_CHANNEL_MODE`` (``framed`` or
    ``lines``). In the framed mode a Python program needs nothing of ours:
    ``multiprocessing.connection.Connection(int(os.environ["PROCREACT_CHANNEL_FD"]))``
    (or :func:`child_connection`). Its standard streams are this process's
    unless ``stdin``, ``stdout`` or ``stderr`` say otherwise (DEVNULL, a
    descriptor or a file). Use it as a context manager: leaving it shuts the
    channel's sending side and waits for the program.
    """

    def __init__(self, args: Args, *, lines: bool = False, max_message: Optional[int] = None,
                 cwd: Optional[Arg] = None, env: Optional[Any] = None, stdin: Stream = DEVNULL,
                 stdout: Stream = None, stderr: Stream = None, shell: bool = False,
                 pass_fds: Collection[int] = ()) -> None:
        if _c is None:
            raise NotImplementedError("procreact: the C library has no message channels (procreact 0.5 needed)")
        opts = _Options(cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr, shell=shell,
                        pass_fds=pass_fds)
        argv = opts.argv(args)
        self._channel: Optional[int] = None
        self._future: Optional[_lib.Future] = None
        self.returncode: Optional[int] = None
        cmd = _command(argv, opts)
        try:
            _c.set_channel(cmd, LINES if lines else FRAMED)
            future = _lib.command_spawn(cmd, _lib.create_output_type())
        finally:
            _lib.command_free(cmd)
        if future.pid <= 0:
            error = ctypes.get_errno()
            _c.get_with_info(ctypes.byref(future), None, None)  # a failed spawn holds nothing; for symmetry
            raise OSError(error, f"{os.strerror(error)}: {argv[0].decode(errors='replace')!r}")
        self._future = future
        self.pid: int = future.pid
        self._channel = _c.future_channel(ctypes.byref(future))
        if not self._channel:
            self._destroy()
            raise _oserror("procreact_future_channel")
        if max_message is not None:
            if _c.set_max(self._channel, max_message) != 0:
                self._destroy()
                raise ValueError("max_message must be at least 1")

    # -------------------------------------------------------------- sending

    def send(self, data: Any, timeout: Optional[float] = None) -> None:
        """Sends one message (bytes-like), waiting for the socket to take it
        (up to ``timeout`` seconds: :class:`TimeoutError` when none of it went)."""
        payload = bytes(data)
        r = _c.send_wait(self._live(), payload, len(payload), None, 0, _timeout_ms(timeout))
        if r < 0:
            raise _oserror("send")

    def send_nowait(self, data: Any) -> bool:
        """Sends without blocking (the rest queued); False once the queue
        reached its high-water mark (wait before sending more).
        :class:`BlockingIOError` at the queue's hard cap."""
        payload = bytes(data)
        r = _c.send(self._live(), payload, len(payload), None, 0)
        if r < 0:
            raise _oserror("send_nowait")
        return bool(r == 0)

    def send_obj(self, obj: Any, timeout: Optional[float] = None) -> None:
        """Sends a pickled object (what Connection.send() sends)."""
        self.send(pickle.dumps(obj), timeout)

    def close_send(self) -> None:
        """Sends no more: the program reads the end of the stream once the queue is written."""
        _c.shutdown(self._live())

    # ------------------------------------------------------------ receiving

    def _take(self, message: Any) -> bytes:
        try:
            size = _c.msg_size(message)
            return ctypes.string_at(_c.msg_data(message), size) if size else b""
        finally:
            _c.msg_free(message)

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """The next message; waits up to ``timeout`` seconds (None: without
        limit). :class:`TimeoutError` when none came, :class:`EOFError` at
        the end of the stream, :class:`OSError` for a broken stream (a
        message cut off: ECONNRESET; too large: EMSGSIZE)."""
        message = _P()
        r = _c.recv(self._live(), ctypes.byref(message), _timeout_ms(timeout))
        if r == 1:
            raise EOFError("procreact: the channel ended")
        if r < 0:
            raise _oserror("recv")
        return self._take(message)

    def recv_obj(self, timeout: Optional[float] = None) -> Any:
        """Receives and unpickles one object (only from a program you trust)."""
        return pickle.loads(self.recv(timeout))

    async def recv_async(self) -> bytes:
        """:meth:`recv` for asyncio: waits through ``loop.add_reader()`` on :meth:`fileno`."""
        loop = asyncio.get_running_loop()
        while True:
            message = _P()
            r = _c.try_recv(self._live(), ctypes.byref(message))
            if r == 0:
                return self._take(message)
            if r == 1:
                raise EOFError("procreact: the channel ended")
            if ctypes.get_errno() != 11:  # EAGAIN
                raise _oserror("recv_async")
            ready = loop.create_future()
            loop.add_reader(self.fileno(), ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_reader(self.fileno())

    async def send_async(self, data: Any) -> None:
        """:meth:`send` for asyncio: queues it, and once the queue passed its
        high-water mark, writes it out as the socket takes it (``add_writer``)."""
        loop = asyncio.get_running_loop()
        if self.send_nowait(data):
            return
        while _c.queued(self._live()) != 0:
            ready = loop.create_future()
            loop.add_writer(self.fileno(), ready.set_result, None)
            try:
                await ready
            finally:
                loop.remove_writer(self.fileno())
            if _c.flush(self._live(), 0) != 0 and ctypes.get_errno() != 110:
                raise _oserror("send_async")

    def fileno(self) -> int:
        """The channel's socket, readable when a message may be there (for select, selectors, asyncio)."""
        return int(_c.fd(self._live()))

    # ------------------------------------------------------------- the end

    def wait(self) -> int:
        """Waits for the program (the channel is read to its end first:
        every message it sent stays receivable) and returns its returncode,
        negative for a signal, as :mod:`subprocess` does."""
        if self.returncode is not None:
            return self.returncode
        if self._future is None:
            raise ValueError("procreact: the program is gone")
        info = _lib.ExitInfo()
        status = ctypes.c_int(0)
        result = _c.get_with_info(ctypes.byref(self._future), ctypes.byref(status), ctypes.byref(info))
        _lib.libc.free(result)
        self.returncode = info.exit_code if info.exited else -info.signal
        return self.returncode

    def _live(self) -> int:
        if self._channel is None:
            raise ValueError("procreact: the channel is closed")
        return self._channel

    def _destroy(self) -> None:
        if self._future is not None and self.returncode is None:
            _c.destroy(ctypes.byref(self._future))  # kills and reaps
            self.returncode = -9
        if self._channel:
            _c.free(self._channel)
        self._channel = None

    def close(self) -> None:
        """Kills the program if it still runs, and frees everything."""
        self._destroy()

    def __enter__(self) -> "ChannelProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._channel is not None and self.returncode is None:
            _c.shutdown(self._channel)
            if exc[0] is None:
                self.wait()
        self._destroy()

    def __del__(self) -> None:
        try:
            self._destroy()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def child_connection() -> Any:
    """In a program started with a framed channel: its end as a
    :class:`multiprocessing.connection.Connection`."""
    from multiprocessing.connection import Connection
    number = os.environ.get("PROCREACT_CHANNEL_FD")
    if number is None:
        raise RuntimeError("procreact: no channel (PROCREACT_CHANNEL_FD is not set)")
    if os.environ.get("PROCREACT_CHANNEL_MODE", "framed") != "framed":
        raise RuntimeError("procreact: the channel is in line mode: read and write lines on the descriptor")
    return Connection(int(number))
