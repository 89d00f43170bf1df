# SPDX-License-Identifier: MIT
"""Typed signatures: mypy --strict (Debian's python3-mypy) checks calls of the binding."""

import inspect
import os
import subprocess
import sys

import pytest

import procreact

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(procreact.__file__)))


def mypy(tmp_path, *targets):
    """Runs mypy --strict on @targets (paths) with the package importable; returns its output.
    A missing mypy fails the test: it is a dependency (scripts/install-deps.sh)."""
    env = dict(os.environ, MYPYPATH=PACKAGE_ROOT)
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir",
                        str(tmp_path / "mypy-cache"), *targets], env=env, capture_output=True, text=True)
    assert "No module named mypy" not in r.stderr, "mypy is missing: apt-get install python3-mypy"
    return r.returncode, r.stdout + r.stderr


TYPOS = '''
import procreact

async def main() -> None:
    procreact.run(["true"], timout=5)
    procreact.run_many([["true"]], limt=2)
    await procreact.run_async(["true"], chek=True)
    async for r in procreact.run_many_async([["true"]], orderd=True):
        pass
'''


def test_mypy_catches_keyword_typos(tmp_path):
    source = tmp_path / "typos.py"
    source.write_text(TYPOS)
    code, output = mypy(tmp_path, str(source))
    assert code == 1, output
    for typo in ("timout", "limt", "chek", "orderd"):
        assert f'Unexpected keyword argument "{typo}"' in output, output


FUNCTIONS = ["run", "run_many", "run_async", "run_many_async"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_runtime_typo_names_function_and_keyword(drive, function):
    with pytest.raises(TypeError) as info:
        drive(function, ["true"], timout=5)
    message = str(info.value)
    assert "timout" in message and f"{function}()" in message and "_Options" not in message


@pytest.mark.parametrize("function", FUNCTIONS)
def test_signatures_are_explicit(function):
    parameters = inspect.signature(getattr(procreact, function)).parameters.values()
    kinds = {p.kind for p in parameters}
    assert inspect.Parameter.VAR_KEYWORD not in kinds and inspect.Parameter.VAR_POSITIONAL not in kinds
    keywords = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert {"check", "input", "stdin", "stdout", "stderr", "cwd", "env", "timeout", "kill_after",
            "output_limit"} <= keywords
    assert all(p.annotation is not inspect.Parameter.empty for p in parameters)


def test_run_async_stays_a_coroutine_function():
    assert inspect.iscoroutinefunction(procreact.run_async)
