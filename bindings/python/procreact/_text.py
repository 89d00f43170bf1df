# SPDX-License-Identifier: MIT
"""Text mode (text=, encoding=, errors=, universal_newlines=), as subprocess
has it: str input encoded, captured output decoded, newlines translated."""

import io
import subprocess
from typing import Any, Optional


class TextMode:
    """The encoding and error handler of one run in text mode."""

    __slots__ = ("encoding", "errors")

    def __init__(self, encoding: Optional[str], errors: Optional[str]) -> None:
        # The choice io.TextIOWrapper makes for subprocess's pipes: the locale's
        # encoding (UTF-8 in UTF-8 mode) unless given, 'strict' unless given.
        # An unknown encoding raises LookupError here, before anything runs.
        probe = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors=errors)
        self.encoding: str = probe.encoding
        self.errors: str = probe.errors or "strict"
        probe.detach()

    @staticmethod
    def of(text: Optional[bool], encoding: Optional[str], errors: Optional[str],
           universal_newlines: Optional[bool]) -> Optional["TextMode"]:
        """The text mode the four keywords ask for, or None for bytes (subprocess's rule:
        any of them set means text)."""
        for name, value in (("encoding", encoding), ("errors", errors)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
        if text is not None and universal_newlines is not None and bool(text) != bool(universal_newlines):
            raise subprocess.SubprocessError("Cannot disambiguate when both text and universal_newlines are "
                                             "supplied but different. Pass one or the other.")
        if not (text or universal_newlines or encoding or errors):
            return None
        return TextMode(encoding, errors)

    def encode(self, data: str) -> bytes:
        return data.encode(self.encoding, self.errors)

    def decode(self, data: Any) -> Any:
        """@p data (bytes, or None when not captured) as str with universal newlines."""
        if data is None:
            return None
        return data.decode(self.encoding, self.errors).replace("\r\n", "\n").replace("\r", "\n")
