# SPDX-License-Identifier: MIT
"""Typed signatures: mypy --strict (Debian's python3-mypy) checks calls of the binding."""

import inspect
import os
import re
import subprocess
import sys

import pytest

import procreact

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(procreact.__file__)))


@pytest.fixture(scope="session")
def mypy(tmp_path_factory):
    """A function that runs mypy --strict on its arguments (paths, or -p procreact) with the
    package importable, and returns its exit code and output; one cache for the session, so
    that the standard library is analysed once. A missing mypy fails the test: it is a
    dependency (scripts/install-deps.sh), not an option."""
    cache = str(tmp_path_factory.mktemp("mypy-cache"))
    env = dict(os.environ, MYPYPATH=PACKAGE_ROOT)

    def check(*targets):
        r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", cache,
                            *targets], env=env, capture_output=True, text=True)
        assert "No module named mypy" not in r.stderr, "mypy is missing: apt-get install python3-mypy"
        return r.returncode, r.stdout + r.stderr
    return check


TYPOS = '''
import procreact

async def main() -> None:
    procreact.run(["true"], timout=5)
    procreact.run_many([["true"]], limt=2)
    await procreact.run_async(["true"], chek=True)
    async for r in procreact.run_many_async([["true"]], orderd=True):
        pass
'''


def test_mypy_catches_keyword_typos(mypy, tmp_path):
    source = tmp_path / "typos.py"
    source.write_text(TYPOS)
    code, output = mypy(str(source))
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


def test_package_passes_mypy_strict(mypy):
    code, output = mypy("-p", "procreact")
    assert code == 0, output


README = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "README.md")


def readme_examples():
    """The ```python blocks of the package's README."""
    with open(README, encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```$", f.read(), re.MULTILINE | re.DOTALL)


def test_readme_examples_pass_mypy_strict(mypy, tmp_path):
    examples = readme_examples()
    assert len(examples) >= 4
    paths = []
    for number, example in enumerate(examples):
        path = tmp_path / f"readme_example_{number}.py"
        path.write_text(example)
        paths.append(str(path))
    code, output = mypy(*paths)
    assert code == 0, output


def test_mypy_would_catch_a_wrong_readme_example(mypy, tmp_path):
    # The check above can fail: a README example with a wrong type does.
    path = tmp_path / "wrong.py"
    path.write_text(readme_examples()[0] + '\nprocreact.run(["true"], timeout="10")\n')
    code, output = mypy(str(path))
    assert code == 1 and 'Argument "timeout" to "run" has incompatible type "str"' in output, output


POOL_MISUSE = '''
import procreact

def square(x: int) -> int:
    return x * x

with procreact.ProcessPool(2) as pool:
    pool.submit(square, "3")
    text: str = pool.submit(square, 3).result()
    pool.submit_with_timeout(1.0, square, x="3")
procreact.ProcessPool(max_worker=2)
'''


def test_mypy_checks_pool_tasks_against_their_function(mypy, tmp_path):
    source = tmp_path / "pool_misuse.py"
    source.write_text(POOL_MISUSE)
    code, output = mypy(str(source))
    assert code == 1, output
    assert output.count('incompatible type "str"; expected "int"') == 2, output
    assert 'Incompatible types in assignment (expression has type "int", variable has type "str")' in output
    assert 'Unexpected keyword argument "max_worker"' in output, output
