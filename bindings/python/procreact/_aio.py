# SPDX-License-Identifier: MIT
"""run_async() and run_many_async(): the asyncio interface, driven by the
collection's descriptor through loop.add_reader()."""

import asyncio
from typing import Any, AsyncIterator, Dict, Iterable, List, Optional, Sequence

from ._collection import _check_limit, _Collection, _Feed
from ._options import Arg, _argv, _Options
from ._result import Result, _exec_error


async def _drain(collection: _Collection, wake: asyncio.Event) -> None:
    collection.cancel()
    while collection.step() == 1:
        await wake.wait()
        wake.clear()


async def run_many_async(commands: Iterable[Sequence[Arg]], *, limit: Optional[int] = None,
                         ordered: bool = False, check: bool = False, **options: Any) -> AsyncIterator[Result]:
    """:func:`run_many` for asyncio: ``async for result in run_many_async(...)``.

    Driven by the collection's descriptor through ``loop.add_reader()``: no
    thread, no SIGCHLD handler, no child watcher. Cancelling the task (or
    leaving the loop) stops every running child with its stop sequence and
    waits for all of them.
    """
    opts = _Options(**options)
    limit = _check_limit(limit)
    loop = asyncio.get_running_loop()
    feed = _Feed(iter(commands), limit, ordered, check, opts)
    collection = feed.collection
    wake = asyncio.Event()
    loop.add_reader(collection.fd, wake.set)
    try:
        while True:
            for result in feed.results():
                yield result
            if feed.finished:
                break
            if collection.running:
                await wake.wait()
                wake.clear()
                collection.step()
    finally:
        try:
            if collection.running:
                await _drain(collection, wake)
        except BaseException:
            pass  # a second cancellation: close() below still stops and reaps them
        finally:
            loop.remove_reader(collection.fd)
            collection.close()


async def run_async(args: Sequence[Arg], *, check: bool = False, **options: Any) -> Result:
    """:func:`run` for asyncio: ``result = await run_async([...])``. Cancelling
    the task stops the program with its stop sequence."""
    opts = _Options(**options)
    _argv(args)
    agen = run_many_async([args], limit=1, **_options_dict(opts))
    try:
        async for result in agen:
            if result.exec_errno:
                raise _exec_error(result)
            return result.check() if check else result
    finally:
        await agen.aclose()
    raise RuntimeError("procreact: no result")  # pragma: no cover


def _options_dict(opts: _Options) -> Dict[str, Any]:
    return {
        "input": opts.input, "cwd": opts.cwd, "env": None if opts.env is None else _env_back(opts.env),
        "timeout": opts.timeout, "kill_after": opts.kill_after, "stdin": opts.stdin, "stdout": opts.stdout,
        "stderr": opts.stderr, "output_limit": opts.output_limit,
    }


def _env_back(entries: List[bytes]) -> Dict[bytes, bytes]:
    return dict(entry.split(b"=", 1) for entry in entries)  # type: ignore[misc]
