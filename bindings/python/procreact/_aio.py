# SPDX-License-Identifier: MIT
"""run_async() and run_many_async(): the asyncio interface, driven by the
collection's descriptor through loop.add_reader()."""

import asyncio
from typing import Any, Collection, AsyncGenerator, Iterable, Iterator, Optional

from ._collection import _Batch, _check_limit, _Feed
from ._keywords import checked
from ._options import Arg, Args, Env, Input, _Options
from ._result import Result, _exec_error
from ._streams import DEVNULL, PIPE, Stream


async def _drain(collection: _Batch, wake: asyncio.Event) -> None:
    collection.cancel()
    while collection.drain_step():
        await wake.wait()
        wake.clear()


@checked
def run_many_async(commands: Iterable[Args], *, limit: Optional[int] = None, ordered: bool = False,
                   check: bool = False, input: Optional[Input] = None, stdin: Stream = DEVNULL,
                   stdout: Stream = PIPE, stderr: Stream = PIPE, capture_output: bool = False,
                   cwd: Optional[Arg] = None, env: Optional[Env] = None, timeout: Optional[float] = None,
                   kill_after: float = 2.0, output_limit: Optional[int] = None, text: Optional[bool] = None,
                   encoding: Optional[str] = None, errors: Optional[str] = None,
                   universal_newlines: Optional[bool] = None, shell: bool = False, pass_fds: Collection[int] = (),
                   start_new_session: bool = False,
                   process_group: Optional[int] = None) -> AsyncGenerator[Result, None]:
    """:func:`run_many` for asyncio: ``async for result in run_many_async(...)``.

    Driven by the collection's descriptor through ``loop.add_reader()``: no
    thread, no SIGCHLD handler, no child watcher. Cancelling the task (or
    leaving the loop) stops every running child with its stop sequence and
    waits for all of them.
    """
    opts = _Options.of(locals())
    return _run_many_async(iter(commands), _check_limit(limit), ordered, check, opts)


async def _run_many_async(commands: Iterator[Any], limit: int, ordered: bool, check: bool,
                          opts: _Options) -> AsyncGenerator[Result, None]:
    loop = asyncio.get_running_loop()
    feed = _Feed(commands, limit, ordered, check, opts)
    collection = feed.collection
    wake = asyncio.Event()
    loop.add_reader(collection.fd, wake.set)
    try:
        while True:
            for result in feed.results():
                yield result
            if feed.finished:
                break
            if not collection.step():  # nothing ended: wait for the descriptor
                await wake.wait()
                wake.clear()
    finally:
        try:
            if collection.running:
                await _drain(collection, wake)
        except BaseException:
            pass  # a second cancellation: close() below still stops and reaps them
        finally:
            loop.remove_reader(collection.fd)
            collection.close()


@checked
async def run_async(args: Args, *, check: bool = False, input: Optional[Input] = None, stdin: Stream = DEVNULL,
                    stdout: Stream = PIPE, stderr: Stream = PIPE, capture_output: bool = False,
                    cwd: Optional[Arg] = None, env: Optional[Env] = None, timeout: Optional[float] = None,
                    kill_after: float = 2.0, output_limit: Optional[int] = None, text: Optional[bool] = None,
                    encoding: Optional[str] = None, errors: Optional[str] = None,
                    universal_newlines: Optional[bool] = None, shell: bool = False, pass_fds: Collection[int] = (),
                    start_new_session: bool = False, process_group: Optional[int] = None) -> Result:
    """:func:`run` for asyncio: ``result = await run_async([...])``, with the
    same keywords. Cancelling the task stops the program with its stop
    sequence."""
    opts = _Options.of(locals())
    opts.argv(args)  # bad args raise here, before anything runs
    results = _run_many_async(iter([args]), 1, False, False, opts)
    try:
        async for result in results:
            if result.exec_errno:
                raise _exec_error(result)
            return result.check() if check else result
    finally:
        await results.aclose()
    raise RuntimeError("procreact: no result")  # pragma: no cover
