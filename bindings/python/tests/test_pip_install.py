# SPDX-License-Identifier: MIT
"""pip install of bindings/python (pyproject.toml) into a fresh virtual
environment, offline: Debian's setuptools and pip, no PyPI."""

import os
import shutil
import subprocess

import procreact

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-venv, python3-pip and python3-setuptools

CHECK = """
import importlib.metadata, sys
import procreact
assert procreact.__file__.startswith(sys.prefix), procreact.__file__
r = procreact.run(["echo", "from the venv"])
meta = importlib.metadata.metadata("procreact")
print(importlib.metadata.version("procreact"), procreact.__version__, r.returncode, r.stdout.decode().strip(),
      meta["Description-Content-Type"], sep="|")
sys.stdout.write(meta.get_payload())
"""


def test_pip_install_into_a_fresh_venv(tmp_path):
    # A copy, so that the build (in-tree without isolation) leaves the source tree alone.
    package = tmp_path / "package"
    package.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(SOURCE, name), package / name)
    shutil.copytree(os.path.join(SOURCE, "procreact"), package / "procreact",
                    ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    pip = subprocess.run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-cache-dir",
                          "--quiet", str(package)], env=env, capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    # Imported from the venv (not from PYTHONPATH), with the C library of this run.
    r = subprocess.run([python, "-c", CHECK], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    first, _, description = r.stdout.partition("\n")
    version, library_version, returncode, output, content_type = first.split("|")
    assert version == library_version == procreact.__version__  # the C library's: meson's project version
    assert (returncode, output) == ("0", "from the venv")
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        assert description.strip() == f.read().strip() and content_type == "text/markdown"
