# SPDX-License-Identifier: MIT
"""ctypes declarations of procreact_pool.h (worker pools, procreact 0.6)."""

import ctypes
from typing import Any

from . import _lib

QUEUED, RUNNING, DONE, FAILED, CRASHED, TIMED_OUT, CANCELLED, POOL_FAILED = range(8)
"""ProcReact_TaskStatus."""

_P = ctypes.c_void_p


class PoolStats(ctypes.Structure):
    _fields_ = [
        ("workers_started", ctypes.c_uint64),
        ("workers_crashed", ctypes.c_uint64),
        ("workers_stopped", ctypes.c_uint64),
        ("workers_recycled", ctypes.c_uint64),
        ("tasks_done", ctypes.c_uint64),
        ("workers_alive", ctypes.c_uint),
        ("tasks_queued", ctypes.c_uint),
        ("reserved", ctypes.c_uint64 * 4),
    ]


def _declare_all() -> Any:
    d = _lib._declare
    ns = type("PoolFunctions", (), {})()
    ns.config_new = d("procreact_pool_config_new", _P)
    ns.config_free = d("procreact_pool_config_free", None, _P)
    ns.config_set_program = d("procreact_pool_config_set_program", ctypes.c_int, _P, _lib.P_CMD, ctypes.c_int)
    ns.config_set_workers = d("procreact_pool_config_set_workers", ctypes.c_int, _P, ctypes.c_uint)
    ns.config_set_recycle = d("procreact_pool_config_set_recycle", ctypes.c_int, _P, ctypes.c_uint,
                              ctypes.c_uint64)
    ns.config_set_stop = d("procreact_pool_config_set_stop", ctypes.c_int, _P, ctypes.c_int, ctypes.c_double)
    ns.config_set_crash_limit = d("procreact_pool_config_set_crash_limit", ctypes.c_int, _P, ctypes.c_uint,
                                  ctypes.c_double)
    ns.config_set_max_message = d("procreact_pool_config_set_max_message", ctypes.c_int, _P, ctypes.c_uint64)
    ns.config_set_ready_message = d("procreact_pool_config_set_ready_message", ctypes.c_int, _P, ctypes.c_int)
    ns.new = d("procreact_pool_new", _P, _P)
    ns.shutdown = d("procreact_pool_shutdown", ctypes.c_int, _P, ctypes.c_int, ctypes.c_double)
    ns.free = d("procreact_pool_free", None, _P)
    ns.submit = d("procreact_pool_submit", _P, _P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_double)
    ns.step = d("procreact_pool_step", ctypes.c_int, _P, ctypes.c_int)
    ns.next_done = d("procreact_pool_next_done", _P, _P)
    ns.error = d("procreact_pool_error", ctypes.c_int, _P, ctypes.POINTER(_lib.ExitInfo))
    ns.stats = d("procreact_pool_stats", ctypes.c_int, _P, ctypes.POINTER(PoolStats))
    ns.task_status = d("procreact_task_status", ctypes.c_int, _P)
    ns.task_cancel = d("procreact_task_cancel", ctypes.c_int, _P)
    ns.task_reply = d("procreact_task_reply", _P, _P, ctypes.POINTER(ctypes.c_size_t))
    ns.task_error = d("procreact_task_error", ctypes.c_int, _P)
    ns.task_exit_info = d("procreact_task_exit_info", ctypes.c_int, _P, ctypes.POINTER(_lib.ExitInfo))
    ns.task_worker_pid = d("procreact_task_worker_pid", _lib.pid_t, _P)
    ns.task_free = d("procreact_task_free", None, _P)
    return ns


try:
    c: Any = _declare_all()
except AttributeError:  # a library without procreact_pool.h (before 0.6)
    c = None
