# SPDX-License-Identifier: MIT
"""What every test of the binding shares: no child of ours may outlive a test."""

import asyncio
import os

import pytest

import procreact


@pytest.fixture(autouse=True)
def no_children_left():
    yield
    # Every test must leave no child of ours behind, running or zombie.
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return
    assert pid == 0 or pid is None, "a child was left unreaped"
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
        assert f.read().strip() == "", "a child is still running"


def _drive(function, args, **keywords):
    """Calls procreact.@function (run, run_many, run_async or run_many_async)
    with one command, @args, and returns its first result."""
    fn = getattr(procreact, function)
    if function == "run":
        return fn(args, **keywords)
    if function == "run_many":
        results = fn([args], **keywords)
        try:
            return next(iter(results))
        finally:
            results.close()

    async def main():
        if function == "run_async":
            return await fn(args, **keywords)
        results = fn([args], **keywords)
        try:
            return await results.__anext__()
        finally:
            await results.aclose()
    return asyncio.run(main())


@pytest.fixture
def drive():
    """_drive, for tests that check all four run functions alike."""
    return _drive
