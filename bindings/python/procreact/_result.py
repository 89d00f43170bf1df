# SPDX-License-Identifier: MIT
"""How a program ended (Result) and the exceptions check=True raises."""

import os
import subprocess
from typing import Any, Optional

from ._options import Args


class Result:
    """How one program ended, and what it wrote."""

    __slots__ = ("args", "index", "returncode", "signal", "timed_out", "cancelled", "output_limit", "exec_errno",
                 "stdout", "stderr", "wall_time", "cpu_time", "max_rss", "timeout")

    def __init__(self, args: Args, index: int, timeout: Optional[float] = None) -> None:
        self.args: Args = args
        """The command as given (for shell=True, the command line)."""
        self.index: int = index
        """Its position in run_many's input (0 for run)."""
        self.timeout: Optional[float] = timeout
        """The timeout it ran with, or None."""
        self.returncode: Optional[int] = None
        """The exit code, or -N when signal N ended it (as in subprocess); None when it never ran."""
        self.signal: Optional[int] = None
        """The signal that ended it, or None."""
        self.timed_out: bool = False
        self.cancelled: bool = False
        self.output_limit: bool = False
        """Whether it was stopped because a captured stream passed ``output_limit``
        (the output is cut there)."""
        self.exec_errno: int = 0
        """Why the program could not be run (an errno value), or 0."""
        self.stdout: Any = None
        """What it wrote to stdout when captured: bytes, or str in text mode; None when not captured."""
        self.stderr: Any = None
        """The same for stderr."""
        self.wall_time: float = 0.0
        self.cpu_time: float = 0.0
        """User plus system time of the program, in seconds."""
        self.max_rss: int = 0
        """Peak resident memory of the program, in KiB, as the kernel counts it.

        Linux counts the parent's memory as the program's until it executes:
        the value is at least this process's own peak resident size (VmHWM)
        when the program was started, so it is the program's own peak only
        when that is larger (a ``sleep`` started from a process that once
        held 400 MiB reports about 400 MiB)."""

    @property
    def ok(self) -> bool:
        """Whether it ran, exited with 0 and was not stopped (timeout,
        cancellation or output limit)."""
        return (self.exec_errno == 0 and self.returncode == 0 and not self.timed_out and not self.cancelled
                and not self.output_limit)

    def check(self) -> "Result":
        """Raises :class:`ProcessError` unless :attr:`ok`; returns self."""
        if self.exec_errno:
            raise _exec_error(self)
        if self.timed_out:
            raise TimeoutExpired(self)
        if not self.ok:
            raise CalledProcessError(self)
        return self

    def __repr__(self) -> str:
        parts = [f"args={self.args!r}"]
        if self.exec_errno:
            parts.append(f"exec_errno={self.exec_errno} ({os.strerror(self.exec_errno)})")
        else:
            parts.append(f"returncode={self.returncode!r}")
            if self.signal is not None:
                parts.append(f"signal={self.signal}")
        if self.timed_out:
            parts.append("timed_out=True")
        if self.cancelled:
            parts.append("cancelled=True")
        if self.output_limit:
            parts.append("output_limit=True")
        for name in ("stdout", "stderr"):
            value = getattr(self, name)
            if value is not None:
                shown = value if len(value) <= 60 else value[:57] + ("..." if isinstance(value, str) else b"...")
                parts.append(f"{name}={shown!r}")
        parts.append(f"wall_time={self.wall_time:.3f}")
        return f"Result({', '.join(parts)})"


class ProcessError(subprocess.SubprocessError):
    """A program failed (``check=True``); :attr:`result` says how. Both
    subclasses are also subprocess's exceptions of the same name."""

    result: Result


class CalledProcessError(ProcessError, subprocess.CalledProcessError):
    """The program exited with a non-zero code, was killed by a signal or
    was stopped at its output limit. As :class:`subprocess.CalledProcessError`:
    ``returncode``, ``cmd`` (the args as given), ``output`` and ``stdout``,
    ``stderr``."""

    def __init__(self, result: Result) -> None:
        subprocess.CalledProcessError.__init__(self, result.returncode or 0, result.args, result.stdout,
                                               result.stderr)
        self.result = result

    def __str__(self) -> str:
        if not self.result.output_limit:
            return subprocess.CalledProcessError.__str__(self)
        return f"Command '{self.cmd}' was stopped when its output passed the limit (output_limit)."


class TimeoutExpired(ProcessError, subprocess.TimeoutExpired):
    """The program ran past its timeout and was stopped. As
    :class:`subprocess.TimeoutExpired`: ``cmd``, ``timeout``, ``output`` and
    ``stdout``, ``stderr`` (what it wrote before it was stopped)."""

    def __init__(self, result: Result) -> None:
        timeout = result.timeout if result.timeout is not None else result.wall_time
        subprocess.TimeoutExpired.__init__(self, result.args, timeout, result.stdout, result.stderr)
        self.result = result


def _exec_error(result: Result) -> OSError:
    code = result.exec_errno
    args = result.args
    program = args if isinstance(args, (str, bytes, os.PathLike)) else args[0]  # never empty: checked
    # OSError picks the subclass from the errno: FileNotFoundError, PermissionError, ...
    return OSError(code, os.strerror(code), program)
