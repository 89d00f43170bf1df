# SPDX-License-Identifier: MIT
"""ctypes declarations of libprocreact.so.0 (the parts the binding uses)."""

import ctypes
import ctypes.util
import os
from typing import Any, Tuple

MIN_VERSION = (0, 6, 0)

pid_t = ctypes.c_int
ssize_t = ctypes.c_ssize_t


class ProcReactType(ctypes.Structure):
    pass


_initialize = ctypes.CFUNCTYPE(ctypes.c_void_p)
_append = ctypes.CFUNCTYPE(ssize_t, ctypes.POINTER(ProcReactType), ctypes.c_void_p, ctypes.c_int)
_finalize = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, pid_t, ctypes.POINTER(ctypes.c_int))

ProcReactType._fields_ = [
    ("initialize", _initialize),
    ("append", _append),
    ("finalize", _finalize),
    ("delimiter", ctypes.c_char),
]


class Future(ctypes.Structure):
    _fields_ = [
        ("pid", pid_t),
        ("fd", ctypes.c_int),
        ("type", ProcReactType),
        ("result", ctypes.c_void_p),
        ("state", ctypes.c_void_p),
    ]


class BytesState(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("data_size", ctypes.c_uint)]


class ExitInfo(ctypes.Structure):
    _fields_ = [
        ("exited", ctypes.c_int),
        ("exit_code", ctypes.c_int),
        ("signal", ctypes.c_int),
        ("core_dumped", ctypes.c_int),
        ("exec_errno", ctypes.c_int),
        ("flags", ctypes.c_uint),
        ("wall_time", ctypes.c_double),
        ("user_time", ctypes.c_double),
        ("system_time", ctypes.c_double),
        ("max_rss_kib", ctypes.c_long),
        ("stderr_data", ctypes.c_void_p),
        ("stderr_length", ctypes.c_size_t),
        ("reserved", ctypes.c_long * 6),
    ]


class BatchResult(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_size_t),
        ("status", ctypes.c_int),
        ("info", ExitInfo),
        ("stdout_data", ctypes.c_void_p),
        ("stdout_length", ctypes.c_size_t),
        ("stderr_data", ctypes.c_void_p),
        ("stderr_length", ctypes.c_size_t),
    ]


HAS_NEXT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
NEXT_PTR = ctypes.c_void_p  # `next` is never given from Python (ctypes cannot return a struct)
COMPLETE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Future), ctypes.c_int)


class FutureIterator(ctypes.Structure):
    _fields_ = [
        ("has_next", ctypes.c_void_p),
        ("next", NEXT_PTR),
        ("complete", COMPLETE),
        ("data", ctypes.c_void_p),
        ("running_processes", ctypes.c_uint),
        ("futures", ctypes.c_void_p),
    ]


STATUS_OK = 0
EXIT_TIMED_OUT = 0x1
EXIT_CANCELLED = 0x2
EXIT_OUTPUT_LIMIT = 0x4

STDIN_NULL, STDIN_INHERIT, STDIN_FD, STDIN_BYTES = range(4)
OUTPUT_CAPTURE, OUTPUT_INHERIT, OUTPUT_DISCARD, OUTPUT_FD, OUTPUT_MERGE = range(5)


def _load() -> Tuple[ctypes.CDLL, str]:
    path = os.environ.get("PROCREACT_LIBRARY") or "libprocreact.so.0"
    try:
        lib = ctypes.CDLL(path, use_errno=True)
    except OSError as error:
        raise ImportError(
            f"procreact: cannot load the C library {path!r} ({error}); install libprocreact0 "
            "(or set PROCREACT_LIBRARY to its path)"
        ) from None
    try:
        version_fn = lib.procreact_version
    except AttributeError:
        raise ImportError(
            f"procreact: the C library {path!r} is older than {'.'.join(map(str, MIN_VERSION))} "
            "(it has no procreact_version()); this binding needs procreact_control.h"
        ) from None
    version_fn.restype = ctypes.c_char_p
    version_fn.argtypes = []
    version = version_fn().decode()
    numbers = tuple(int(part) for part in version.split(".")[:3] if part.isdigit())
    if numbers < MIN_VERSION:
        raise ImportError(
            f"procreact: the C library {path!r} is version {version}, older than "
            f"{'.'.join(map(str, MIN_VERSION))} that this binding needs"
        )
    return lib, version


lib, VERSION = _load()
libc = ctypes.CDLL(None, use_errno=True)
libc.free.argtypes = [ctypes.c_void_p]
libc.free.restype = None


def _declare(name: str, restype: Any, *argtypes: Any) -> Any:
    """The library's function @p name with its C types set (ctypes calls are untyped: Any)."""
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


c_char_pp = ctypes.POINTER(ctypes.c_char_p)
P_CMD = ctypes.c_void_p
P_FUTURE = ctypes.POINTER(Future)
P_ITER = ctypes.POINTER(FutureIterator)

command_new = _declare("procreact_command_new", P_CMD, c_char_pp)
command_free = _declare("procreact_command_free", None, P_CMD)
command_set_cwd = _declare("procreact_command_set_cwd", ctypes.c_int, P_CMD, ctypes.c_char_p)
command_clear_env = _declare("procreact_command_clear_env", ctypes.c_int, P_CMD)
command_put_env = _declare("procreact_command_put_env", ctypes.c_int, P_CMD, ctypes.c_char_p)
command_set_new_process_group = _declare("procreact_command_set_new_process_group", ctypes.c_int, P_CMD,
                                         ctypes.c_int)
command_pass_fd = _declare("procreact_command_pass_fd", ctypes.c_int, P_CMD, ctypes.c_int)
command_set_stdin = _declare("procreact_command_set_stdin", ctypes.c_int, P_CMD, ctypes.c_int, ctypes.c_int)
command_set_stdin_bytes = _declare("procreact_command_set_stdin_bytes", ctypes.c_int, P_CMD, ctypes.c_char_p,
                                   ctypes.c_size_t)
command_set_stdout = _declare("procreact_command_set_stdout", ctypes.c_int, P_CMD, ctypes.c_int, ctypes.c_int)
command_set_stderr = _declare("procreact_command_set_stderr", ctypes.c_int, P_CMD, ctypes.c_int, ctypes.c_int)
command_spawn = _declare("procreact_command_spawn", Future, P_CMD, ProcReactType)
create_output_type = _declare("procreact_create_output_type", ProcReactType)

future_set_timeout = _declare("procreact_future_set_timeout", ctypes.c_int, P_FUTURE, ctypes.c_double)
future_set_stop = _declare("procreact_future_set_stop", ctypes.c_int, P_FUTURE, ctypes.c_int, ctypes.c_double)
future_set_output_limit = _declare("procreact_future_set_output_limit", ctypes.c_int, P_FUTURE, ctypes.c_size_t)
future_info = _declare("procreact_future_info", ctypes.c_int, P_FUTURE, ctypes.POINTER(ExitInfo))

iterator_add = _declare("procreact_future_iterator_add", ctypes.c_int, P_ITER, P_FUTURE)
iterator_fd = _declare("procreact_future_iterator_fd", ctypes.c_int, P_ITER)
iterator_step = _declare("procreact_future_iterator_step", ctypes.c_int, P_ITER, ctypes.c_uint)
iterator_cancel = _declare("procreact_future_iterator_cancel", ctypes.c_int, P_ITER)
iterator_destroy = _declare("procreact_destroy_future_iterator", None, P_ITER)

P_BATCH = ctypes.c_void_p
batch_new = _declare("procreact_batch_new", P_BATCH, P_CMD, ctypes.c_uint)
batch_free = _declare("procreact_batch_free", None, P_BATCH)
batch_set_timeout = _declare("procreact_batch_set_timeout", ctypes.c_int, P_BATCH, ctypes.c_double)
batch_set_stop = _declare("procreact_batch_set_stop", ctypes.c_int, P_BATCH, ctypes.c_int, ctypes.c_double)
batch_set_output_limit = _declare("procreact_batch_set_output_limit", ctypes.c_int, P_BATCH, ctypes.c_size_t)
batch_submit = _declare("procreact_batch_submit", ssize_t, P_BATCH, c_char_pp,
                        ctypes.POINTER(ctypes.c_size_t), ctypes.c_size_t)
batch_wait = _declare("procreact_batch_wait", ssize_t, P_BATCH, ctypes.POINTER(BatchResult),
                      ctypes.c_size_t, ctypes.c_int)
batch_remaining = _declare("procreact_batch_remaining", ctypes.c_size_t, P_BATCH)
batch_fd = _declare("procreact_batch_fd", ctypes.c_int, P_BATCH)
batch_cancel = _declare("procreact_batch_cancel", ctypes.c_int, P_BATCH)
