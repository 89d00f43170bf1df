# SPDX-License-Identifier: MIT
"""run() and run_many(): the blocking interface, waiting with poll()."""

import select
from typing import Any, Generator, Iterable, Iterator, Optional

from ._collection import _check_limit, _Feed
from ._keywords import checked
from ._options import Arg, Args, Env, Input, _argv, _Options
from ._result import Result, _exec_error
from ._streams import DEVNULL, PIPE, Stream


@checked
def run_many(commands: Iterable[Args], *, limit: Optional[int] = None, ordered: bool = False,
             check: bool = False, input: Optional[Input] = None, stdin: Stream = DEVNULL, stdout: Stream = PIPE,
             stderr: Stream = PIPE, cwd: Optional[Arg] = None, env: Optional[Env] = None,
             timeout: Optional[float] = None, kill_after: float = 2.0,
             output_limit: Optional[int] = None) -> Generator[Result, None, None]:
    """Runs every command of ``commands`` (argument lists, consumed lazily),
    at most ``limit`` at once (default: the number of CPUs), and yields a
    :class:`Result` for each as it completes, or in input order with
    ``ordered=True``. Each result's ``index`` is its position in the input.

    The other keywords are those of :func:`run` and apply to every command.
    A program that cannot be executed gives a result with ``exec_errno`` set
    (with ``check=True``, the :class:`OSError` is raised instead, as for any
    failure). Leaving the loop early, an exception or ``KeyboardInterrupt``
    stops every running child with its stop sequence and waits for all of
    them: none is left behind.
    """
    opts = _Options.of(locals())
    return _run_many(iter(commands), _check_limit(limit), ordered, check, opts)


def _run_many(commands: Iterator[Any], limit: int, ordered: bool, check: bool, opts: _Options) -> Generator[Result, None, None]:
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


@checked
def run(args: Args, *, check: bool = False, input: Optional[Input] = None, stdin: Stream = DEVNULL,
        stdout: Stream = PIPE, stderr: Stream = PIPE, cwd: Optional[Arg] = None, env: Optional[Env] = None,
        timeout: Optional[float] = None, kill_after: float = 2.0, output_limit: Optional[int] = None) -> Result:
    """Runs one program and returns its :class:`Result`.

    Keywords: ``input`` (bytes fed to its stdin), ``stdin`` (DEVNULL, the
    default, PIPE: an empty input, None: this process's, or a descriptor or
    file), ``stdout`` and ``stderr`` (PIPE, the default: captured; DEVNULL;
    None: this process's; a descriptor or a file; stderr also STDOUT),
    ``cwd``, ``env`` (a mapping that replaces the environment), ``timeout``
    (seconds; the stop sequence runs when it passes and ``timed_out`` says
    so), ``kill_after`` (the grace between SIGTERM and SIGKILL, 2 s),
    ``output_limit`` (a cap in bytes on each captured stream).

    The program runs in a process group of its own, which the stop sequence
    signals. A program that cannot be executed raises
    :class:`FileNotFoundError`, :class:`PermissionError` or another
    :class:`OSError`, as :mod:`subprocess` does. With ``check=True`` a
    non-zero exit, a signal or a timeout raises :class:`ProcessError`.
    Wrong types raise :class:`TypeError` and NUL bytes :class:`ValueError`,
    before anything runs.
    """
    opts = _Options.of(locals())
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
