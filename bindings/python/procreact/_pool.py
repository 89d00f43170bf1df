# SPDX-License-Identifier: MIT
"""ProcessPool: a concurrent.futures.Executor whose Python workers survive crashes and kill timed-out tasks."""

from __future__ import annotations  # ParamSpec (3.10) only for the type checker: the package runs on 3.9

import functools
import itertools
import os
import pickle
import signal
import sys
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, List, Mapping, Optional, Tuple, TypeVar

from ._options import Arg
from ._pool_core import PoolCore, PoolFuture, environment
from ._pool_errors import RemoteTraceback

T = TypeVar("T")
if TYPE_CHECKING:
    from typing import ParamSpec
    P = ParamSpec("P")

_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_pool_worker.py")
_INIT_LIMIT = 100 * 1024
"""The largest pickled initializer (hex in the environment, below the kernel's 128 KiB per string)."""


def _reply(data: bytes, future: "PoolFuture[Any]") -> None:
    """Completes @p future with a worker's reply: (True, value) or (False, exception, traceback text)."""
    reply = pickle.loads(data)
    if reply[0]:
        future.set_result(reply[1])
        return
    error = reply[1]
    error.__cause__ = RemoteTraceback(reply[2])
    future.set_exception(error)


def _chunks(iterables: Tuple[Iterable[Any], ...], size: int) -> Iterator[Tuple[Tuple[Any, ...], ...]]:
    it = zip(*iterables)
    while True:
        chunk = tuple(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


class ProcessPool(Executor):
    """A :class:`concurrent.futures.Executor` of Python worker processes that
    survive their workers: each worker holds one task at a time, so a worker
    that dies (a segfault, ``os._exit``, the OOM killer's SIGKILL) fails
    exactly the task it held, with :class:`WorkerCrashed` (its signal and
    exit code), and is replaced; every other task goes on.

    Workers run ``procreact/_pool_worker.py`` (what ``python3 -m
    procreact._pool_worker`` runs) with ``executable`` (``sys.executable``
    by default), started with a framed channel; a task is a
    pickled ``(fn, args, kwargs)`` as :class:`ProcessPoolExecutor` takes
    (functions importable by name, picklable arguments). ``max_workers``: one
    per online processor by default. ``initializer(*initargs)`` runs in each
    new worker before it takes any task (the worker then says it is ready);
    one that raises ends the worker without failing a task, and after
    ``crash_limit`` such deaths in a row the pool fails (:class:`PoolFailed`, a
    :class:`concurrent.futures.BrokenExecutor`). ``max_tasks_per_child`` and
    ``max_rss`` (bytes) retire a worker after that many tasks or once its
    resident memory passes the limit; its replacement is started first.

    Timeouts: ``task_timeout`` (seconds) for every task, or
    :meth:`submit_with_timeout` for one. A task past it has its worker
    stopped (``stop_signal``, then SIGKILL after ``stop_grace`` seconds) and
    fails with :class:`TaskTimedOut`. ``future.cancel()`` cancels a queued
    task and stops a running one the same way.

    One background thread drives the pool (no thread per worker). Leaving a
    ``with`` block on KeyboardInterrupt (or any BaseException that is not an
    Exception) calls :meth:`terminate`; so does the interpreter's exit.
    """

    def __init__(self, max_workers: Optional[int] = None, *, initializer: Optional[Callable[..., Any]] = None,
                 initargs: Tuple[Any, ...] = (), max_tasks_per_child: Optional[int] = None,
                 max_rss: Optional[int] = None, task_timeout: Optional[float] = None,
                 stop_signal: int = signal.SIGTERM, stop_grace: float = 1.0, crash_limit: int = 5,
                 crash_delay: float = 0.01, executable: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None, cwd: Optional[Arg] = None,
                 max_message: Optional[int] = None) -> None:
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        from ._pool_worker import INIT_ENV, encode_init  # not at import: the workers run it as __main__
        blob = encode_init(initializer, initargs)
        if len(blob) > _INIT_LIMIT:
            raise ValueError("procreact: the pickled initializer and initargs are too large for the environment")
        self._task_timeout = task_timeout
        python = os.fsencode(executable or sys.executable or "/usr/bin/python3")
        # The worker by its path, not -m: -m would import this package (ctypes, the library, asyncio) first.
        self._core = PoolCore([python, os.fsencode(_WORKER)], False, _reply,
                              workers=max_workers,
                              env=environment(env, {INIT_ENV: blob}), cwd=cwd,
                              max_tasks=max_tasks_per_child, max_rss=max_rss, stop_signal=stop_signal,
                              stop_grace=stop_grace, crash_limit=crash_limit, crash_delay=crash_delay,
                              max_message=max_message, ready=True)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> "PoolFuture[T]":
        """Runs ``fn(*args, **kwargs)`` in a worker (with the pool's ``task_timeout``, if any)."""
        return self._core.submit(pickle.dumps((fn, args, kwargs), pickle.HIGHEST_PROTOCOL), self._task_timeout)

    def submit_with_timeout(self, timeout: Optional[float], fn: Callable[P, T], /, *args: P.args,
                            **kwargs: P.kwargs) -> "PoolFuture[T]":
        """:meth:`submit` with a deadline of its own: ``timeout`` seconds from
        the moment a worker takes the task (None: no deadline)."""
        return self._core.submit(pickle.dumps((fn, args, kwargs), pickle.HIGHEST_PROTOCOL), timeout)

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any], timeout: Optional[float] = None,
            chunksize: int = 1) -> Iterator[T]:
        """:meth:`Executor.map`; with ``chunksize`` > 1 a task runs ``fn`` over that many items."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        if chunksize == 1:
            return super().map(fn, *iterables, timeout=timeout)
        from ._pool_worker import _run_chunk
        results: Iterator[List[T]] = super().map(functools.partial(_run_chunk, fn), _chunks(iterables, chunksize),
                                                 timeout=timeout)
        return itertools.chain.from_iterable(results)

    def __del__(self) -> None:
        # Dropped without a shutdown: its tasks still complete, then its workers end (the driving
        # thread holds the C pool, not this object).
        core = getattr(self, "_core", None)
        if core is not None:
            core.close_soon()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more tasks; ``cancel_futures`` cancels the queued ones; ``wait``
        returns once the rest completed and every worker is reaped."""
        self._core.shutdown(wait, cancel_futures)

    def terminate(self) -> None:
        """Cancels every task, queued or running (running ones get the stop
        sequence), and returns once every worker is reaped."""
        self._core.terminate()

    def stats(self) -> Mapping[str, int]:
        """The pool's counters: workers started, crashed, stopped, recycled, alive; tasks done, queued."""
        return self._core.stats()

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            self.terminate()
        else:
            self.shutdown(wait=True)
