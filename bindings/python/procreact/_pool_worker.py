# SPDX-License-Identifier: MIT
"""The worker program of ProcessPool: runs pickled calls that come on its channel.

Started by :class:`procreact.ProcessPool` as ``python3 .../procreact/_pool_worker.py``
(by its path, so that the package, its C library and asyncio are not imported
before the first task needs them; ``python3 -m procreact._pool_worker`` works
too), one per worker, with a framed channel. Each request is one message, a pickled
``(callable, args, kwargs)``; each reply is one message, a pickled tuple:
``(True, value)`` or ``(False, exception, traceback_text)``. The worker ends at
the end of its channel (the pool closed it) with exit code 0.

The environment variable ``PROCREACT_POOL_INIT`` (hex of a pickle) carries
``(sys_path, main_path, pickled_initializer)``: the parent's module path
(so the callables' modules import here as there), its main script if it
was run by its path (run here
as ``__mp_main__`` and taken for ``__main__``, as multiprocessing's spawn
does, so functions defined in it can be tasks: the script needs its
``if __name__ == "__main__":`` guard), then, unpickled with both in place,
``(initializer, initargs)``. Once that is done the worker sends
one empty message: it is ready (the pool sets
``procreact_pool_config_set_ready_message()`` and sends no task before).
An initializer that raises ends the worker with exit code 1 before that
message: no task was sent to it, and the pool counts the death towards its
crash limit.

SIGINT is ignored: a Ctrl-C at a terminal reaches the whole foreground
process group, and the parent decides what becomes of its workers.
"""

import os
import pickle
import signal
import sys
import traceback
from typing import Any, Callable, List, Optional, Sequence, Tuple

INIT_ENV = "PROCREACT_POOL_INIT"


def _run_chunk(fn: Callable[..., Any], chunk: Sequence[Tuple[Any, ...]]) -> List[Any]:
    """One task of ProcessPool.map(chunksize > 1): ``fn`` over a chunk of argument tuples."""
    return [fn(*args) for args in chunk]


def _failure(error: BaseException) -> bytes:
    """The reply for a call that raised: the exception if it pickles (and unpickles), else a stand-in."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        data = pickle.dumps((False, error, text), pickle.HIGHEST_PROTOCOL)
        pickle.loads(data)  # an exception whose __init__ takes other arguments fails here, not in the parent
        return data
    except Exception as pickling:
        stand_in = RuntimeError(f"{type(error).__name__}: {error} (not picklable: {pickling})")
        return pickle.dumps((False, stand_in, text), pickle.HIGHEST_PROTOCOL)


def answer(request: bytes) -> bytes:
    """The reply to one request (never raises for the call's own errors)."""
    try:
        fn, args, kwargs = pickle.loads(request)
        value = fn(*args, **kwargs)
    except BaseException as error:  # SystemExit and KeyboardInterrupt in a task are the task's failure
        return _failure(error)
    try:
        return pickle.dumps((True, value), pickle.HIGHEST_PROTOCOL)
    except BaseException as error:
        return _failure(error)


def encode_init(initializer: Optional[Callable[..., Any]], initargs: Tuple[Any, ...]) -> str:
    """The value of PROCREACT_POOL_INIT for this process's module path and @p initializer(*@p initargs)."""
    pickled = pickle.dumps((initializer, tuple(initargs)), pickle.HIGHEST_PROTOCOL)
    path = [os.path.abspath(entry) if entry else os.getcwd() for entry in sys.path]
    module = sys.modules.get("__main__")
    main = getattr(module, "__file__", None)  # a script run by its path (not -m, not -c, not interactive)
    script = main and getattr(module, "__spec__", None) is None and main.endswith(".py") and os.path.isfile(main)
    main_path = os.path.abspath(main) if main and script else None
    return pickle.dumps((path, main_path, pickled), pickle.HIGHEST_PROTOCOL).hex()


def _run_main(path: str) -> None:
    """Runs the parent's main script as ``__mp_main__`` and makes it this process's ``__main__``."""
    import runpy
    import types
    module = types.ModuleType("__mp_main__")
    module.__dict__.update(runpy.run_path(path, run_name="__mp_main__"))
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module


def initialize(blob: str) -> None:
    """Takes the parent's module path and runs the pool's initializer (ends the process if it raises)."""
    sys_path, main_path, pickled = pickle.loads(bytes.fromhex(blob))
    for entry in reversed(sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        if main_path is not None:
            _run_main(main_path)
        initializer, initargs = pickle.loads(pickled)
        if initializer is not None:
            initializer(*initargs)
    except BaseException:
        traceback.print_exc()
        print("procreact: the pool's initializer (or the main script, run as __mp_main__) failed",
              file=sys.stderr, flush=True)
        os._exit(1)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # run by its path: the package's own directory is no place for the tasks' imports
    from multiprocessing.connection import Connection
    number = os.environ.get("PROCREACT_CHANNEL_FD")
    if number is None:
        print("procreact._pool_worker: no channel (run by procreact.ProcessPool)", file=sys.stderr)
        return 2
    connection = Connection(int(number))
    blob = os.environ.pop(INIT_ENV, None)
    # The channel's variables are the pool's, not the tasks': programs the tasks start must not see them.
    os.environ.pop("PROCREACT_CHANNEL_FD", None)
    os.environ.pop("PROCREACT_CHANNEL_MODE", None)
    if blob:
        initialize(blob)
    connection.send_bytes(b"")  # ready: the pool sends no task before this (a start-up death fails none)
    while True:
        try:
            request = connection.recv_bytes()
        except EOFError:
            return 0
        connection.send_bytes(answer(request))


if __name__ == "__main__":
    sys.exit(main())
