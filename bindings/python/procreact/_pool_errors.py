# SPDX-License-Identifier: MIT
"""The exceptions of worker pools: a task's worker that died or was stopped, a pool that failed."""

from concurrent.futures import BrokenExecutor
from typing import Optional

from . import _lib


class RemoteTraceback(Exception):
    """The traceback text of an exception raised in a worker: set as the
    ``__cause__`` of the exception a future raises, so that both show."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


class WorkerError(Exception):
    """A task's worker ended while it held the task (only that task fails).

    ``pid`` is the worker's, ``signal`` the signal that ended it (0 if none),
    ``exit_code`` its exit code (None if a signal ended it), ``core_dumped``
    whether it left a core, and ``returncode`` as :mod:`subprocess` has it
    (negative for a signal)."""

    def __init__(self, message: str, pid: int = 0, signal: int = 0, exit_code: Optional[int] = None,
                 core_dumped: bool = False) -> None:
        super().__init__(message)
        self.pid = pid
        self.signal = signal
        self.exit_code = exit_code
        self.core_dumped = core_dumped

    @property
    def returncode(self) -> Optional[int]:
        if self.signal:
            return -self.signal
        return self.exit_code


class WorkerCrashed(WorkerError):
    """The task's worker died on its own (a signal, an exit, an oversized reply) while it ran the task."""


class TaskTimedOut(WorkerError, TimeoutError):
    """The task ran past its deadline: its worker was stopped (the stop
    signal, the grace period, then SIGKILL) and replaced."""


class PoolFailed(WorkerError, BrokenExecutor):
    """The pool gave up: its new workers kept dying before they finished a
    task (a failing initializer, a worker program that cannot start). Every
    queued task fails with it and the pool takes no more."""


def describe(info: Optional[_lib.ExitInfo]) -> str:
    """How a worker ended, in words."""
    if info is None:
        return "no exit details"
    if info.exited:
        return f"exit code {info.exit_code}"
    core = ", core dumped" if info.core_dumped else ""
    return f"signal {info.signal}{core}"


def worker_error(cls: type, what: str, pid: int, info: Optional[_lib.ExitInfo]) -> WorkerError:
    """An instance of @p cls (a WorkerError) for a worker that ended as @p info says."""
    if info is None:
        error: WorkerError = cls(f"procreact: {what} ({describe(info)})", pid)
        return error
    exit_code = info.exit_code if info.exited else None
    worker = f"worker {pid}: " if pid else ""
    error = cls(f"procreact: {what} ({worker}{describe(info)})", pid, 0 if info.exited else info.signal,
                exit_code, bool(info.core_dumped))
    return error
