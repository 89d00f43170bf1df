# SPDX-License-Identifier: MIT
"""run() and run_many(): the blocking interface, waiting with poll()."""

from typing import Any, Collection, Generator, Iterable, Iterator, Optional

from ._collection import _WAIT_MS, _check_limit, _Feed
from ._keywords import checked
from ._options import Arg, Args, Env, Input, _Options
from ._result import Result, _exec_error
from ._streams import DEVNULL, PIPE, Stream


@checked
def run_many(commands: Iterable[Args], *, limit: Optional[int] = None, ordered: bool = False, check: bool = False,
             input: Optional[Input] = None, stdin: Stream = DEVNULL, stdout: Stream = PIPE, stderr: Stream = PIPE,
             capture_output: bool = False, cwd: Optional[Arg] = None, env: Optional[Env] = None,
             timeout: Optional[float] = None, kill_after: float = 2.0, output_limit: Optional[int] = None,
             text: Optional[bool] = None, encoding: Optional[str] = None, errors: Optional[str] = None,
             universal_newlines: Optional[bool] = None, shell: bool = False, pass_fds: Collection[int] = (),
             start_new_session: bool = False,
             process_group: Optional[int] = None) -> Generator[Result, None, None]:
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


def _run_many(commands: Iterator[Any], limit: int, ordered: bool, check: bool,
              opts: _Options) -> Generator[Result, None, None]:
    feed = _Feed(commands, limit, ordered, check, opts)
    collection = feed.collection
    try:
        while True:
            yield from feed.results()
            if feed.finished:
                break
            # One foreign call sleeps in the library until a program ends
            # (or _WAIT_MS pass, for signal handlers) and hands out every
            # result ready then.
            collection.step(_WAIT_MS)
    finally:
        collection.close()


@checked
def run(args: Args, *, check: bool = False, input: Optional[Input] = None, stdin: Stream = DEVNULL,
        stdout: Stream = PIPE, stderr: Stream = PIPE, capture_output: bool = False, cwd: Optional[Arg] = None,
        env: Optional[Env] = None, timeout: Optional[float] = None, kill_after: float = 2.0,
        output_limit: Optional[int] = None, text: Optional[bool] = None, encoding: Optional[str] = None,
        errors: Optional[str] = None, universal_newlines: Optional[bool] = None, shell: bool = False,
        pass_fds: Collection[int] = (), start_new_session: bool = False,
        process_group: Optional[int] = None) -> Result:
    """Runs one program and returns its :class:`Result`, with
    :func:`subprocess.run`'s keywords and meaning where they are shared
    (bindings/python/README.md has the table).

    Streams: ``stdin`` (DEVNULL, the default; PIPE: an empty input; None:
    this process's; a descriptor or a file), or ``input`` (bytes, str in
    text mode); ``stdout`` and ``stderr`` (PIPE, the default: captured;
    DEVNULL; None: this process's; a descriptor or a file; stderr also
    STDOUT); ``capture_output=True`` (both captured, as the defaults do).
    Text mode (``text``, ``encoding``, ``errors``, ``universal_newlines``):
    output decoded as subprocess decodes it. ``cwd``; ``env`` (a mapping
    that replaces the environment); ``shell=True`` (``/bin/sh -c args``);
    ``pass_fds`` (descriptors the program keeps; all others are closed).
    ``timeout`` (seconds; the stop sequence runs when it passes and
    ``timed_out`` says so); ``kill_after`` (the grace between SIGTERM and
    SIGKILL, 2 s); ``output_limit`` (a cap in bytes on each captured
    stream; ``output_limit`` in the result says it was hit).

    The program runs in a process group of its own (``process_group=0``'s
    meaning), which the stop sequence signals; ``start_new_session=True``
    and joining another group raise :class:`NotImplementedError`. A program
    that cannot be executed raises :class:`FileNotFoundError`,
    :class:`PermissionError` or another :class:`OSError`, as subprocess
    does. With ``check=True`` a non-zero exit, a signal or the output limit
    raises :class:`CalledProcessError` and a timeout
    :class:`TimeoutExpired`, subclasses of subprocess's. Wrong types raise
    :class:`TypeError`, bad values :class:`ValueError`, and keywords of
    subprocess that the binding lacks a :class:`TypeError` saying why, all
    before anything runs.
    """
    opts = _Options.of(locals())
    opts.argv(args)  # bad args raise here, before anything runs
    results = _run_many(iter([args]), 1, False, False, opts)
    try:
        for result in results:
            if result.exec_errno:
                raise _exec_error(result)
            return result.check() if check else result
    finally:
        results.close()
    raise RuntimeError("procreact: no result")  # pragma: no cover - a collection always completes
