# SPDX-License-Identifier: MIT
"""Keywords a run function does not take: a TypeError that names the
function and the keyword, and says why for subprocess's own keywords."""

import difflib
import functools
import inspect
from typing import Any, Callable, Dict, FrozenSet, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

SUBPROCESS_ONLY: Dict[str, str] = {
    "executable": "libprocreact runs argv[0] itself (procreact_command_new() has no separate program path); "
                  "put the program first in args",
    "umask": "libprocreact has no umask setting; the program gets this process's umask",
    "preexec_fn": "no Python code runs in the child (posix_spawn)",
    "close_fds": "every descriptor but stdin, stdout, stderr and pass_fds is always closed in the program "
                 "(what close_fds=True does); leave the keyword out",
    "restore_signals": "every signal is always at its default disposition and unblocked in the program (more "
                       "than restore_signals=True does); leave the keyword out",
    "bufsize": "output is collected whole into the Result; there are no pipe file objects to buffer",
    "pipesize": "libprocreact sizes its pipes itself",
    "user": "libprocreact cannot change the program's user",
    "group": "libprocreact cannot change the program's group",
    "extra_groups": "libprocreact cannot change the program's supplementary groups",
    "startupinfo": "Windows only",
    "creationflags": "Windows only",
}
"""subprocess.run/Popen keywords the binding does not take, each with why."""


def _refusal(function: str, keyword: str, accepted: FrozenSet[str]) -> TypeError:
    reason = SUBPROCESS_ONLY.get(keyword)
    if reason is not None:
        return TypeError(f"procreact.{function}() does not take subprocess's keyword {keyword!r}: {reason}")
    message = f"procreact.{function}() got an unexpected keyword argument {keyword!r}"
    close = difflib.get_close_matches(keyword, accepted, n=1)
    return TypeError(message + (f" (did you mean {close[0]!r}?)" if close else ""))


def checked(fn: F) -> F:
    """Wraps @p fn so that a keyword it does not take raises _refusal()'s
    TypeError; for a coroutine function, when it is awaited, as any other
    bad argument of the coroutine is reported."""
    accepted = frozenset(name for name, parameter in inspect.signature(fn).parameters.items()
                         if parameter.kind is inspect.Parameter.KEYWORD_ONLY)

    def refuse_unknown(keywords: Dict[str, Any]) -> None:
        for keyword in keywords:
            if keyword not in accepted:
                raise _refusal(fn.__name__, keyword, accepted)

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def checked_coroutine(*args: Any, **keywords: Any) -> Any:
            refuse_unknown(keywords)
            return await fn(*args, **keywords)
        return checked_coroutine  # type: ignore[return-value]

    @functools.wraps(fn)
    def checked_call(*args: Any, **keywords: Any) -> Any:
        refuse_unknown(keywords)
        return fn(*args, **keywords)
    return checked_call  # type: ignore[return-value]
