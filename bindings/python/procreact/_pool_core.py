# SPDX-License-Identifier: MIT
"""A C worker pool (procreact_pool.h) and the one thread that drives it, turning its tasks into futures."""

import atexit
import ctypes
import os
import threading
import weakref
from concurrent.futures import Future
from typing import Any, Callable, Dict, Generic, List, Mapping, Optional, TypeVar

from . import _lib
from ._channel import FRAMED, LINES
from ._collection import _command
from ._options import Arg, _Options, _seconds
from ._pool_c import CANCELLED, CRASHED, DONE, FAILED, POOL_FAILED, QUEUED, TIMED_OUT, c as _c
from ._streams import DEVNULL, INHERIT
from ._pool_errors import PoolFailed, TaskTimedOut, WorkerCrashed, WorkerError, worker_error

STEP_MS = 50
"""How long the driver waits in one procreact_pool_step(): the most a shutdown waits to be noticed."""

T = TypeVar("T")

Convert = Callable[[bytes, "PoolFuture[Any]"], None]
"""Completes a future with a task's reply (sets its result or its exception)."""


class PoolFuture(Future[T], Generic[T]):
    """A :class:`concurrent.futures.Future` of a pool task. Its :meth:`cancel`
    cancels the task: a queued one is removed, a running one gets its worker
    stopped (the pool's stop sequence) and replaced."""

    _task: Optional[int] = None
    _core: Optional["PoolCore"] = None
    _notified = False

    def cancel(self) -> bool:
        if not self.mark_cancelled():
            return False
        core = self._core
        if core is not None:
            core.cancel_task(self)
        return True

    def mark_cancelled(self) -> bool:
        """Cancels the future alone (not its task) and wakes wait() and as_completed() now, not once the
        worker is gone; False when it had completed."""
        condition: threading.Condition = getattr(self, "_condition")  # the Future's own (not in typeshed)
        with condition:  # reentrant: Future.cancel() and the notification take it again
            if not super().cancel():
                return False
            if not self._notified:
                self._notified = True
                self.set_running_or_notify_cancel()
            return True

    @property
    def worker_pid(self) -> int:
        """The pid of the worker that runs (or ran) the task, 0 when none did yet."""
        core = self._core
        return core.worker_pid(self) if core is not None else 0


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise ValueError(f"procreact: {what}: {os.strerror(error)}")


_live: "weakref.WeakSet[PoolCore]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """At interpreter exit (a KeyboardInterrupt that ended the main thread, too): no worker stays behind."""
    for core in list(_live):
        core.terminate()


class PoolCore:
    """A C pool of worker programs (framed or line channel), driven by one background thread."""

    def __init__(self, argv: List[bytes], lines: bool, convert: Convert, *, workers: Optional[int],
                 env: Optional[Mapping[str, str]], cwd: Optional[Arg], max_tasks: Optional[int],
                 max_rss: Optional[int], stop_signal: int, stop_grace: float, crash_limit: int,
                 crash_delay: float, max_message: Optional[int], ready: bool = False) -> None:
        if _c is None:
            raise NotImplementedError("procreact: the C library has no worker pools (procreact 0.6 needed)")
        self._convert = convert
        self._lock = threading.Lock()
        self._tasks: Dict[int, PoolFuture[Any]] = {}
        self._closing = False
        self._terminating = False
        self._pool: Optional[int] = None
        self.error: Optional[BaseException] = None
        opts = _Options(cwd=cwd, env=env, stdin=DEVNULL, stdout=INHERIT, stderr=INHERIT)
        config = _c.config_new()
        if not config:
            raise MemoryError("procreact_pool_config_new")
        try:
            cmd = _command(argv, opts)
            try:
                _check(_c.config_set_program(config, cmd, LINES if lines else FRAMED), "the worker program")
            finally:
                _lib.command_free(cmd)
            _check(_c.config_set_workers(config, _count(workers, "max_workers", 1)), "max_workers")
            _check(_c.config_set_recycle(config, _count(max_tasks, "max_tasks_per_child", 1),
                                         _count(max_rss, "max_rss", 1)), "recycling")
            _check(_c.config_set_stop(config, _count(stop_signal, "stop_signal", 1),
                                      _seconds(stop_grace, "stop_grace")), "stop")
            _check(_c.config_set_crash_limit(config, _count(crash_limit, "crash_limit", 1),
                                             _seconds(crash_delay, "crash_delay")), "crash_limit")
            if max_message is not None:
                _check(_c.config_set_max_message(config, _count(max_message, "max_message", 1)), "max_message")
            # A worker that says when it is ready gets no task before: its start-up death fails none.
            _check(_c.config_set_ready_message(config, 1 if ready else 0), "ready message")
            pool = _c.new(config)
        finally:
            _c.config_free(config)
        if not pool:
            error = ctypes.get_errno()
            raise OSError(error, f"procreact: cannot start the pool's workers: {os.strerror(error)}")
        self._pool = pool
        self._thread = threading.Thread(target=self._drive, name="procreact-pool", daemon=True)
        self._thread.start()
        _live.add(self)

    # ------------------------------------------------------------- tasks

    def submit(self, data: bytes, deadline: Optional[float]) -> PoolFuture[Any]:
        seconds = _seconds(deadline, "timeout") if deadline is not None else 0.0
        if deadline is not None and seconds <= 0:
            raise ValueError("timeout must be more than 0")
        future: PoolFuture[Any] = PoolFuture()
        with self._lock:
            if self._closing or self._pool is None:
                raise RuntimeError("cannot schedule new futures after shutdown")
            task = _c.submit(self._pool, data, len(data), seconds)
            if not task:
                raise self._submit_error(ctypes.get_errno())
            future._task = task
            future._core = self
            self._tasks[task] = future
        return future

    def _submit_error(self, error: int) -> BaseException:
        if error == 32:  # EPIPE: the pool failed
            return self.pool_failed()
        if error == 90:  # EMSGSIZE
            return ValueError("procreact: the task is larger than a message may be (max_message)")
        return OSError(error, f"procreact_pool_submit: {os.strerror(error)}")

    def pool_failed(self) -> PoolFailed:
        info = _lib.ExitInfo()
        error = _c.error(self._pool, ctypes.byref(info)) if self._pool is not None else 0
        reason = "its new workers kept dying" if error in (0, 10) else os.strerror(error)  # 10: ECHILD
        failed = worker_error(PoolFailed, f"the pool failed: {reason}; the last one ended", 0, info)
        assert isinstance(failed, PoolFailed)
        return failed

    def cancel_task(self, future: PoolFuture[Any]) -> None:
        with self._lock:
            task = future._task
            if task is not None and self._tasks.get(task) is future:
                _c.task_cancel(task)  # EALREADY when it completed meanwhile: the driver drops it

    def worker_pid(self, future: PoolFuture[Any]) -> int:
        with self._lock:
            task = future._task
            if task is None or self._tasks.get(task) is not future:
                return 0
            return int(_c.task_worker_pid(task))

    def queued(self) -> List[PoolFuture[Any]]:
        """The futures whose tasks wait for a worker."""
        with self._lock:
            return [f for task, f in self._tasks.items() if _c.task_status(task) == QUEUED]

    # ------------------------------------------------------------ driver

    def _drive(self) -> None:
        pool = self._pool
        assert pool is not None
        try:
            while True:
                if self._terminating or (self._closing and not self._tasks):
                    break  # terminating: the shutdown below stops the running tasks now
                if _c.step(pool, STEP_MS) < 0 and ctypes.get_errno() not in (4, 110):  # EINTR, ETIMEDOUT
                    error = ctypes.get_errno()
                    raise OSError(error, f"procreact_pool_step: {os.strerror(error)}")
                self._collect(pool)
        except BaseException as error:  # pragma: no cover - the C pool broke: fail what is left
            self.error = error
        finally:
            _c.shutdown(pool, 0, 0.0)  # no drain, no wait: every task left completes (CANCELLED)
            self._collect(pool)
            with self._lock:
                self._pool = None
                left = list(self._tasks.items())
                self._tasks.clear()
            for task, future in left:  # none, unless the pool broke
                _c.task_free(task)
                if not future.done():
                    future.set_exception(RuntimeError(f"procreact: the pool's driver failed: {self.error}"))
            _c.free(pool)

    def _collect(self, pool: int) -> None:
        while True:
            task = _c.next_done(pool)
            if not task:
                return
            with self._lock:
                future = self._tasks.pop(task, None)
            if future is None:  # pragma: no cover - every task we submit is in the table
                continue
            try:
                self._finish(task, future)
            finally:
                future._task = None
                _c.task_free(task)

    def _finish(self, task: int, future: PoolFuture[Any]) -> None:
        if future.cancelled():
            return
        status = _c.task_status(task)
        try:
            if status == DONE:
                size = ctypes.c_size_t(0)
                data = _c.task_reply(task, ctypes.byref(size))
                self._convert(ctypes.string_at(data, size.value) if size.value else b"", future)
            elif status == CANCELLED:
                future.mark_cancelled()
            elif status == POOL_FAILED:
                future.set_exception(self.pool_failed())
            else:
                future.set_exception(self._worker_error(task, status))
        except Exception as error:  # a reply that does not convert (unpickling) fails only its future
            if not future.done():
                future.set_exception(error)

    def _worker_error(self, task: int, status: int) -> WorkerError:
        details = _lib.ExitInfo()
        info = details if _c.task_exit_info(task, ctypes.byref(details)) == 0 else None
        pid = int(_c.task_worker_pid(task))
        if status == TIMED_OUT:
            return worker_error(TaskTimedOut, "the task ran past its timeout; its worker was stopped", pid, info)
        if status == CRASHED:
            return worker_error(WorkerCrashed, "the task's worker died", pid, info)
        if status == FAILED:
            return WorkerError(f"procreact: the task failed with error {_c.task_error(task)}", pid)
        return WorkerError(f"procreact: the task ended in state {status}", pid)  # pragma: no cover

    # --------------------------------------------------------------- end

    def shutdown(self, wait: bool, cancel_futures: bool) -> None:
        """No new task; with @p cancel_futures the queued ones are cancelled; with @p wait, returns once
        every task completed and every worker is reaped."""
        with self._lock:
            self._closing = True
        if cancel_futures:
            for future in self.queued():
                future.cancel()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()

    def close_soon(self) -> None:
        """shutdown(wait=False) for a finalizer: no lock, which the collecting thread may hold."""
        self._closing = True  # one store: nobody submits through a pool that is being collected

    def terminate(self) -> None:
        """Cancels every task, stops the workers (the stop sequence) and waits for them."""
        with self._lock:
            self._closing = True
            futures = list(self._tasks.values())
        for future in futures:
            future.mark_cancelled()
        self._terminating = True
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def stats(self) -> Dict[str, int]:
        """The pool's counters (procreact_pool_stats), while it runs."""
        from ._pool_c import PoolStats
        stats = PoolStats()
        with self._lock:
            if self._pool is None:
                raise ValueError("procreact: the pool was shut down")
            _c.stats(self._pool, ctypes.byref(stats))
        return {name: int(getattr(stats, name)) for name, _ in PoolStats._fields_ if name != "reserved"}


def _count(value: Optional[int], what: str, least: int) -> int:
    """@p value as a C count: None is 0 (the library's default or "never")."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int or None, not {type(value).__name__}")
    if value < least:
        raise ValueError(f"{what} must be at least {least}")
    return value


def environment(env: Optional[Mapping[str, str]], extra: Mapping[str, str]) -> Dict[str, str]:
    """The workers' environment: @p env (None: this process's) with @p extra."""
    merged = dict(os.environ if env is None else env)
    merged.update(extra)
    return merged

