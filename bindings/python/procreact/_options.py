# SPDX-License-Identifier: MIT
"""The options of a run, checked before anything runs."""

import os
import sys
from typing import Any, Collection, List, Mapping, Optional, Sequence, Tuple, Union

from ._streams import DEVNULL, PIPE, Stream, check_stream
from ._text import TextMode

Arg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
"""One argument, a directory or an environment entry."""
Args = Union[Arg, Sequence[Arg]]
"""A command: its argument list, or one program name alone (with shell=True, a command line)."""
Env = Union[Mapping[str, Arg], Mapping[bytes, Arg]]
"""An environment that replaces this process's for the program."""
Input = Union[str, bytes, bytearray, memoryview]
"""Fed to the program's stdin: bytes, or str in text mode."""

SHELL = b"/bin/sh"
"""The shell of shell=True, as in subprocess."""

_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()


def _arg_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (str, bytes, os.PathLike)):
        data = os.fsencode(value)
    else:
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(value).__name__}")
    if b"\0" in data:
        raise ValueError(f"embedded null byte in {what}")
    return data


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
    value = float(value)
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{what} must be a finite number of seconds, 0 or more")
    return value


def _environment(env: Any) -> List[bytes]:
    if not isinstance(env, Mapping):
        raise TypeError(f"env must be a mapping, not {type(env).__name__}")
    entries = []
    for key, value in env.items():
        k = _arg_bytes(key, "env key")
        if not k or b"=" in k:
            raise ValueError(f"illegal environment variable name {key!r}")
        entries.append(k + b"=" + _arg_bytes(value, "env value"))
    return entries


def _descriptors(pass_fds: Any) -> Tuple[int, ...]:
    """pass_fds as the sorted descriptors above 2 (0 to 2 are the standard
    streams, which the stream keywords set)."""
    if isinstance(pass_fds, (str, bytes)) or not isinstance(pass_fds, Collection):
        raise TypeError(f"pass_fds must be a collection of descriptors, not {type(pass_fds).__name__}")
    fds = set()
    for fd in pass_fds:
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"pass_fds: {fd!r} is not a descriptor (an int)")
        if fd < 0:
            raise ValueError(f"pass_fds: bad descriptor {fd}")
        if fd > 2:
            fds.add(fd)
    return tuple(sorted(fds))


def _unsupported(keyword: str, value: Any, why: str) -> NotImplementedError:
    return NotImplementedError(f"{keyword}={value!r} is not supported: {why}")


OPTION_NAMES = ("input", "cwd", "env", "timeout", "kill_after", "stdin", "stdout", "stderr", "capture_output",
                "output_limit", "text", "encoding", "errors", "universal_newlines", "shell", "pass_fds",
                "start_new_session", "process_group")
"""The keywords of every run function that become _Options (the others: check, limit, ordered)."""


class _Options:
    """Validated per-command options (checked before anything runs)."""

    __slots__ = ("input", "cwd", "env", "timeout", "timeout_given", "kill_after", "stdin", "stdout", "stderr",
                 "output_limit", "text", "shell", "pass_fds")

    def __init__(self, *, input: Optional[Input] = None, cwd: Optional[Arg] = None, env: Optional[Any] = None,
                 timeout: Optional[float] = None, kill_after: float = 2.0, stdin: Stream = DEVNULL,
                 stdout: Stream = PIPE, stderr: Stream = PIPE, capture_output: bool = False,
                 output_limit: Optional[int] = None, text: Optional[bool] = None, encoding: Optional[str] = None,
                 errors: Optional[str] = None, universal_newlines: Optional[bool] = None, shell: bool = False,
                 pass_fds: Collection[int] = (), start_new_session: bool = False,
                 process_group: Optional[int] = None) -> None:
        self.text: Optional[TextMode] = TextMode.of(text, encoding, errors, universal_newlines)
        self.input = self._input(input)
        self.cwd = _arg_bytes(cwd, "cwd") if cwd is not None else None
        self.env: Optional[List[bytes]] = _environment(env) if env is not None else None
        self.timeout = _seconds(timeout, "timeout") if timeout is not None else None
        self.timeout_given = timeout  # as given, for TimeoutExpired's message (5, not 5.0, as subprocess)
        self.kill_after = _seconds(kill_after, "kill_after")
        self.stdin = check_stream(stdin, "stdin")
        if self.input is not None and self.stdin not in (DEVNULL, PIPE):
            raise ValueError("stdin and input arguments may not both be used.")
        self.stdout = check_stream(stdout, "stdout")
        self.stderr = check_stream(stderr, "stderr")
        if capture_output and (self.stdout != PIPE or self.stderr != PIPE):
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        if output_limit is not None:
            if isinstance(output_limit, bool) or not isinstance(output_limit, int):
                raise TypeError("output_limit must be an int")
            if output_limit < 0:
                raise ValueError("output_limit must be 0 or more")
        self.output_limit = output_limit
        self.shell = bool(shell)
        self.pass_fds = _descriptors(pass_fds)
        # Every program leads a new process group, which its stop sequence signals.
        if start_new_session:
            raise _unsupported("start_new_session", start_new_session,
                               "libprocreact cannot start a new session (setsid); each program runs in a new "
                               "process group of its own, as with process_group=0")
        if process_group is not None:
            if isinstance(process_group, bool) or not isinstance(process_group, int):
                raise TypeError(f"process_group must be an int or None, not {type(process_group).__name__}")
            if process_group != 0:
                raise _unsupported("process_group", process_group,
                                   "libprocreact can only start a new process group (process_group=0, which "
                                   "every program gets), not join another")

    def _input(self, data: Any) -> Optional[bytes]:
        if data is None:
            return None
        if self.text is not None:
            if not isinstance(data, str):
                raise TypeError(f"input must be str in text mode, not {type(data).__name__}")
            return self.text.encode(data)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"input must be bytes (or str with text=True), not {type(data).__name__}")
        return bytes(data)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> "_Options":
        """The options among @p values, a run function's locals() (its parameters)."""
        return cls(**{name: values[name] for name in OPTION_NAMES})

    def argv(self, args: Any) -> List[bytes]:
        """The argument vector of @p args: as given, or for shell=True, /bin/sh -c and
        then @p args (a command line, then what the shell gets as $0, $1...), as subprocess does."""
        if isinstance(args, (str, bytes, os.PathLike)):
            args = [args]
        try:
            items = list(args)
        except TypeError:
            raise TypeError(f"args must be a sequence of str, bytes or os.PathLike, "
                            f"not {type(args).__name__}") from None
        if not items:
            raise ValueError("args must not be empty")
        argv = []
        for item in items:  # str, the common case, encoded here as os.fsencode() would
            if type(item) is str and "\0" not in item:
                argv.append(item.encode(_FS_ENCODING, _FS_ERRORS))
            else:
                argv.append(_arg_bytes(item, "args"))
        return [SHELL, b"-c"] + argv if self.shell else argv
