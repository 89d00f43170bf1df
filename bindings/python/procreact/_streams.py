# SPDX-License-Identifier: MIT
"""The standard-stream constants, which are subprocess's own values with
subprocess's meaning, and the check of a stdin, stdout or stderr argument."""

import subprocess
from typing import IO, Any, Optional, Union

from . import _lib

PIPE: int = subprocess.PIPE
"""Capture the stream into the result (the default for stdout and stderr);
for stdin, an empty input (as subprocess.run gives without ``input``)."""
CAPTURE: int = PIPE
"""Another name for :data:`PIPE`."""
STDOUT: int = subprocess.STDOUT
"""For stderr only: send it wherever stdout goes."""
DEVNULL: int = subprocess.DEVNULL
"""Connect the stream to /dev/null (the default for stdin)."""
INHERIT: None = None
"""Let the program use this process's own stream (None, as in subprocess)."""

Stream = Union[None, int, IO[Any]]
"""What stdin, stdout and stderr accept: PIPE, DEVNULL, STDOUT (stderr only),
None (inherit), a descriptor, or an object with a ``fileno()`` method."""

_ACCEPTED = "PIPE, DEVNULL, None (inherit), a file descriptor or an object with fileno()"


def check_stream(value: Any, name: str) -> Optional[int]:
    """Returns @p value as PIPE, DEVNULL, STDOUT, None or a descriptor (0 or
    more); anything the binding does not own raises, naming @p name."""
    accepted = _ACCEPTED + (", or STDOUT" if name == "stderr" else "")
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be {accepted}, not bool")
    if isinstance(value, int):
        if value == STDOUT and name != "stderr":
            raise ValueError(f"{name}=STDOUT: STDOUT is only for stderr")
        if value < 0 and value not in (PIPE, DEVNULL, STDOUT):
            raise ValueError(f"{name}={value}: not a descriptor, and not {accepted}")
        return value
    fileno = getattr(value, "fileno", None)
    if fileno is None:
        raise TypeError(f"{name} must be {accepted}, not {type(value).__name__}")
    fd = fileno()
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
        raise ValueError(f"{name}: fileno() gave {fd!r}, not a descriptor")
    return fd


OUTPUT_MODE = {PIPE: _lib.OUTPUT_CAPTURE, DEVNULL: _lib.OUTPUT_DISCARD, None: _lib.OUTPUT_INHERIT,
               STDOUT: _lib.OUTPUT_MERGE}
"""The C library's mode for each constant; a descriptor is OUTPUT_FD."""
