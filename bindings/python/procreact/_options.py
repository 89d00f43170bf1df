# SPDX-License-Identifier: MIT
"""The options of a run, checked before anything runs."""

import os
from typing import Any, List, Mapping, Optional, Sequence, Union

from ._streams import DEVNULL, PIPE, Stream, check_stream


Arg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
"""One argument, a directory or an environment entry."""
Args = Union[Arg, Sequence[Arg]]
"""A command: its argument list, or one program name alone."""
Env = Union[Mapping[str, Arg], Mapping[bytes, Arg]]
"""An environment that replaces this process's for the program."""
Input = Union[bytes, bytearray, memoryview]
"""Bytes fed to the program's stdin."""


def _arg_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (str, bytes, os.PathLike)):
        data = os.fsencode(value)
    else:
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(value).__name__}")
    if b"\0" in data:
        raise ValueError(f"embedded null byte in {what}")
    return data


OPTION_NAMES = ("input", "cwd", "env", "timeout", "kill_after", "stdin", "stdout", "stderr", "output_limit")
"""The keywords of every run function that become _Options (the others: check, limit, ordered)."""


class _Options:
    """Validated per-command options (checked before anything runs)."""

    __slots__ = ("input", "cwd", "env", "timeout", "kill_after", "stdin", "stdout", "stderr", "output_limit",
                 "new_group")

    def __init__(self, *, input: Optional[bytes] = None, cwd: Optional[Arg] = None,
                 env: Optional[Mapping[Any, Any]] = None, timeout: Optional[float] = None,
                 kill_after: float = 2.0, stdin: Stream = DEVNULL, stdout: Stream = PIPE,
                 stderr: Stream = PIPE, output_limit: Optional[int] = None) -> None:
        if input is not None and not isinstance(input, (bytes, bytearray, memoryview)):
            raise TypeError(f"input must be bytes, not {type(input).__name__}")
        self.input = bytes(input) if input is not None else None
        self.cwd = _arg_bytes(cwd, "cwd") if cwd is not None else None
        if env is not None:
            if not isinstance(env, Mapping):
                raise TypeError(f"env must be a mapping, not {type(env).__name__}")
            entries = []
            for key, value in env.items():
                k = _arg_bytes(key, "env key")
                if not k or b"=" in k:
                    raise ValueError(f"illegal environment variable name {key!r}")
                entries.append(k + b"=" + _arg_bytes(value, "env value"))
            self.env: Optional[List[bytes]] = entries
        else:
            self.env = None
        self.timeout = self._seconds(timeout, "timeout") if timeout is not None else None
        self.kill_after = self._seconds(kill_after, "kill_after")
        self.stdin = check_stream(stdin, "stdin")
        if self.input is not None and self.stdin not in (DEVNULL, PIPE):
            raise ValueError("input and stdin cannot both be given")
        self.stdout = check_stream(stdout, "stdout")
        self.stderr = check_stream(stderr, "stderr")
        if output_limit is not None:
            if isinstance(output_limit, bool) or not isinstance(output_limit, int):
                raise TypeError("output_limit must be an int")
            if output_limit < 0:
                raise ValueError("output_limit must be 0 or more")
        self.output_limit = output_limit
        self.new_group = True

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> "_Options":
        """The options among @p values, a run function's locals() (its parameters)."""
        return cls(**{name: values[name] for name in OPTION_NAMES})

    @staticmethod
    def _seconds(value: Any, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
        value = float(value)
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"{what} must be a finite number of seconds, 0 or more")
        return value


def _argv(args: Any) -> List[bytes]:
    if isinstance(args, (str, bytes, os.PathLike)):
        args = [args]
    try:
        items = list(args)
    except TypeError:
        raise TypeError(f"args must be a sequence of str, bytes or os.PathLike, not {type(args).__name__}") from None
    if not items:
        raise ValueError("args must not be empty")
    return [_arg_bytes(item, "args") for item in items]
