# SPDX-License-Identifier: MIT
"""How a program ended (Result) and the exceptions check=True raises."""

import os
from typing import Optional

from ._options import Args


class Result:
    """How one program ended, and what it wrote."""

    __slots__ = ("args", "index", "returncode", "signal", "timed_out", "cancelled", "output_limit", "exec_errno", "stdout",
                 "stderr", "wall_time", "cpu_time", "max_rss")

    def __init__(self, args: Args, index: int) -> None:
        self.args: Args = args  # as given
        self.index: int = index
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
        self.stdout: Optional[bytes] = None
        self.stderr: Optional[bytes] = None
        self.wall_time: float = 0.0
        self.cpu_time: float = 0.0
        """User plus system time of the program, in seconds."""
        self.max_rss: int = 0
        """Peak resident memory of the program, in KiB."""

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
                shown = value if len(value) <= 60 else value[:57] + b"..."
                parts.append(f"{name}={shown!r}")
        parts.append(f"wall_time={self.wall_time:.3f}")
        return f"Result({', '.join(parts)})"


class ProcessError(Exception):
    """A program failed (``check=True``); :attr:`result` says how."""

    def __init__(self, result: Result) -> None:
        self.result = result
        super().__init__(self._describe(result))

    @staticmethod
    def _describe(result: Result) -> str:
        if result.timed_out:
            return f"{result.args!r} timed out after {result.wall_time:.3f} s"
        if result.output_limit:
            return f"{result.args!r} was stopped when its output passed the limit"
        if result.signal is not None:
            return f"{result.args!r} was killed by signal {result.signal}"
        return f"{result.args!r} exited with {result.returncode}"


class CalledProcessError(ProcessError):
    """The program exited with a non-zero code or was killed by a signal."""


class TimeoutExpired(ProcessError):
    """The program ran past its timeout and was stopped."""


def _exec_error(result: Result) -> OSError:
    code = result.exec_errno
    args = result.args
    program = args if isinstance(args, (str, bytes, os.PathLike)) else args[0]  # never empty: checked
    # OSError picks the subclass from the errno: FileNotFoundError, PermissionError, ...
    return OSError(code, os.strerror(code), program)
