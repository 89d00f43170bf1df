# SPDX-License-Identifier: MIT
"""Run programs from Python through procreact, the C process library.

No code of yours runs in a child: programs are started by the C library
(clone with CLONE_VM|CLONE_VFORK straight into execve, or posix_spawn),
which waits for them through pidfds, never with a SIGCHLD handler, so it
coexists with :mod:`subprocess`, :mod:`asyncio` child watchers and
anything else that runs children.

- :func:`run` runs one program and returns a :class:`Result`.
- :func:`run_many` runs many, at most ``limit`` at once, and yields results
  as they complete (or in input order).
- :func:`run_async` and :func:`run_many_async` are the same for asyncio,
  driven by the collection's descriptor through ``loop.add_reader()``.
- :class:`ChannelProcess` runs a program with a message channel: send and
  receive while it runs (:func:`child_connection` is the program's side).
- :class:`ProcessPool` is a :class:`concurrent.futures.Executor` whose
  Python workers survive crashes (only the task a dead worker held fails)
  and whose task timeouts stop the worker; :class:`ProgramPool` is a pool of
  worker programs, bytes in and bytes out.

The keywords are :func:`subprocess.run`'s, with subprocess's meaning where
they are shared, and subprocess's constants (PIPE, STDOUT, DEVNULL) and
exceptions (CalledProcessError and TimeoutExpired are subclasses of
subprocess's). What differs: stdout and stderr are captured by default and
stdin is /dev/null; a timeout stops a program with a stop sequence (SIGTERM
to its process group, SIGKILL ``kill_after`` seconds later) and is reported
in the result (``timed_out``), raised only with ``check=True``.
"""

from . import _lib
from ._aio import run_async, run_many_async
from ._channel import ChannelProcess, child_connection
from ._pool import ProcessPool
from ._pool_core import PoolFuture
from ._pool_errors import PoolFailed, RemoteTraceback, TaskTimedOut, WorkerCrashed, WorkerError
from ._program_pool import ProgramPool
from ._result import CalledProcessError, ProcessError, Result, TimeoutExpired
from ._run import run, run_many
from ._streams import CAPTURE, DEVNULL, INHERIT, PIPE, STDOUT

__all__ = [
    "PIPE", "CAPTURE", "DEVNULL", "INHERIT", "STDOUT", "Result", "ProcessError", "CalledProcessError",
    "TimeoutExpired", "run", "run_many", "run_async", "run_many_async", "ChannelProcess", "child_connection",
    "ProcessPool", "ProgramPool", "PoolFuture", "WorkerError", "WorkerCrashed", "TaskTimedOut", "PoolFailed",
    "RemoteTraceback", "__version__",
]

__version__: str = _lib.VERSION
