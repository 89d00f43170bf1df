# SPDX-License-Identifier: MIT
"""ProgramPool: a pool of arbitrary worker programs, bytes in and bytes out, one reply per request."""

import signal
from typing import Any, Iterable, Iterator, Mapping, Optional

from ._options import Arg, Args, _Options
from ._pool_core import PoolCore, PoolFuture, T


def _bytes(data: bytes, future: "PoolFuture[Any]") -> None:
    future.set_result(data)


class ProgramPool:
    """A pool of worker programs: each worker is ``argv`` (a list, or a
    command line with ``shell=True``) started with a channel
    (``PROCREACT_CHANNEL_FD``, ``PROCREACT_CHANNEL_MODE``), that answers each
    request with one reply. ``mode="framed"``: a message is a 4-byte
    big-endian length and the bytes (what
    :class:`multiprocessing.connection.Connection` sends); ``mode="lines"``:
    a request and a reply are one line each (without its newline here).

    :meth:`submit` takes bytes and gives a future of the reply's bytes. A
    worker that dies fails the task it held with :class:`WorkerCrashed`; a
    task past its ``timeout`` has its worker stopped and fails with
    :class:`TaskTimedOut`; workers that keep dying before they answer fail
    the pool (:class:`PoolFailed`). The other keywords are
    :class:`ProcessPool`'s.
    """

    def __init__(self, argv: Args, *, mode: str = "framed", max_workers: Optional[int] = None,
                 shell: bool = False, task_timeout: Optional[float] = None, max_tasks_per_child: Optional[int] = None,
                 max_rss: Optional[int] = None, stop_signal: int = signal.SIGTERM, stop_grace: float = 1.0,
                 crash_limit: int = 5, crash_delay: float = 0.01, env: Optional[Mapping[str, str]] = None,
                 cwd: Optional[Arg] = None, max_message: Optional[int] = None) -> None:
        if mode not in ("framed", "lines"):
            raise ValueError(f"mode must be 'framed' or 'lines', not {mode!r}")
        self._lines = mode == "lines"
        self._task_timeout = task_timeout
        self._core = PoolCore(_Options(shell=shell).argv(argv), self._lines, _bytes, workers=max_workers, env=env,
                              cwd=cwd, max_tasks=max_tasks_per_child, max_rss=max_rss, stop_signal=stop_signal,
                              stop_grace=stop_grace, crash_limit=crash_limit, crash_delay=crash_delay,
                              max_message=max_message)

    def submit(self, data: bytes, timeout: Optional[float] = None) -> "PoolFuture[bytes]":
        """Sends ``data`` (bytes-like; in line mode without a newline) to the
        next free worker; the future's result is the reply. ``timeout``: the
        task's deadline in seconds from the moment a worker takes it (default
        the pool's ``task_timeout``)."""
        payload = bytes(data)
        if self._lines and b"\n" in payload:
            raise ValueError("procreact: in line mode a request must not hold a newline")
        return self._core.submit(payload, self._task_timeout if timeout is None else timeout)

    def map(self, requests: Iterable[bytes], timeout: Optional[float] = None) -> Iterator[bytes]:
        """The replies to ``requests``, in their order (all submitted first;
        ``timeout`` is each task's deadline). A failed task raises its error
        when its turn comes, and the tasks after it are cancelled."""
        futures = [self.submit(data, timeout) for data in requests]
        return _results(futures)

    def __del__(self) -> None:
        # Dropped without a shutdown: its tasks still complete, then its workers end (the driving
        # thread holds the C pool, not this object).
        core = getattr(self, "_core", None)
        if core is not None:
            core.close_soon()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As :meth:`ProcessPool.shutdown`."""
        self._core.shutdown(wait, cancel_futures)

    def terminate(self) -> None:
        """As :meth:`ProcessPool.terminate`."""
        self._core.terminate()

    def stats(self) -> Mapping[str, int]:
        """As :meth:`ProcessPool.stats`."""
        return self._core.stats()

    def __enter__(self) -> "ProgramPool":
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            self.terminate()
        else:
            self.shutdown(wait=True)


def _results(futures: "list[PoolFuture[T]]") -> Iterator[T]:
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()
