/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_exit.h
 * @brief How a future's child ended: exit code, signal, exec failure,
 *        times, peak memory and captured standard error.
 *
 * @defgroup Exit Exit details
 * @brief Everything about a finished child, for forked and spawned futures
 *        alike, from procreact_future_get_with_info() or, inside an
 *        iterator's @c complete callback, from procreact_future_info().
 *
 * A caller who never asks pays nothing for the details: they are gathered
 * by the same system call that reaps the child, and freed with the future.
 * @{
 */
#ifndef PROCREACT_EXIT_H
#define PROCREACT_EXIT_H

#include <stddef.h>

#include "procreact_future.h"
#include "procreact_util.h"

PROCREACT_BEGIN_DECLS

/** @brief ProcReact_ExitInfo::flags: the child was stopped at its deadline. */
#define PROCREACT_EXIT_TIMED_OUT 0x1u
/** @brief ProcReact_ExitInfo::flags: the child was stopped by a cancellation. */
#define PROCREACT_EXIT_CANCELLED 0x2u
/** @brief ProcReact_ExitInfo::flags: the child was stopped when its output passed the limit. */
#define PROCREACT_EXIT_OUTPUT_LIMIT 0x4u

/**
 * @brief How one child ended.
 *
 * Filled in by the library; every field is defined in every case (a field
 * that does not apply holds 0, or -1 where the text says so).
 */
typedef struct {
    /** 1 when the child exited normally (then @c exit_code is valid), else 0. */
    int exited;
    /** The exit code when @c exited, else -1. */
    int exit_code;
    /** The signal that terminated the child, or 0. */
    int signal;
    /** 1 when the terminating signal dumped core, else 0. */
    int core_dumped;
    /**
     * The errno of a program that could not be executed (ENOENT: not found;
     * EACCES: not executable; ...), or 0 when it ran or the future was
     * forked. Such a future never had a child: @c exited is 0 and its status
     * is #PROCREACT_STATUS_FORK_FAIL. A program that ran and exited with 127
     * has exec_errno 0.
     */
    int exec_errno;
    /** #PROCREACT_EXIT_TIMED_OUT, #PROCREACT_EXIT_CANCELLED, #PROCREACT_EXIT_OUTPUT_LIMIT. */
    unsigned int flags;
    /** Seconds from the start of the child to the moment it was reaped. */
    double wall_time;
    /** CPU seconds the child (and its reaped descendants) spent in user mode. */
    double user_time;
    /** CPU seconds the child (and its reaped descendants) spent in the kernel. */
    double system_time;
    /**
     * The child's peak resident set size, in KiB (0 when unknown), as the
     * kernel reports it (`ru_maxrss`). On Linux this is not always the
     * child's own peak: the kernel counts, as part of the child, the address
     * space it had before it executed its program.
     * - A program started by procreact_command_spawn() runs, until its
     *   `exec`, in the parent's address space (its `clone(CLONE_VM)` shares
     *   it, as `vfork()` does), so its value is at least the parent's own peak
     *   (VmHWM in /proc/self/status) at the time of the spawn: a `sleep`
     *   spawned from a parent that once held 400 MiB reports about 400 MiB.
     * - A forked future's child starts with a copy of the parent's page
     *   tables, so its value is at least the parent's resident size at the
     *   fork (its current size, not its peak), whether the child then
     *   executes a program or not.
     *
     * So the value is the child's own peak only when that is larger than
     * what it started with; a value near the parent's size says nothing
     * about the child. (Nothing cheap avoids it: the kernel keeps the larger
     * value across `exec`.)
     */
    long max_rss_kib;
    /**
     * Captured standard error (a spawned future whose command captures it),
     * or NULL. Owned by the caller once handed out: free it with free().
     * Not NUL-terminated; may contain any bytes.
     */
    char *stderr_data;
    /** The number of bytes at @c stderr_data. */
    size_t stderr_length;
    /** Reserved for later versions; zero. */
    long reserved[6];
} ProcReact_ExitInfo;

/**
 * @brief procreact_future_get(), and how the child ended.
 *
 * Reads the child's output, waits for it and returns the result exactly as
 * procreact_future_get() does, and fills @p info (when not NULL) with the
 * exit details. `info->stderr_data`, when not NULL, belongs to the caller.
 * For a future that is already finished (asked again), a stale copy, a
 * future whose fork or spawn failed, or a future built by hand, @p info
 * holds what is known: all zero but @c exit_code -1, and @c exec_errno for
 * a spawn that could not execute its program.
 *
 * @return The result, owned by the caller as with procreact_future_get().
 */
PROCREACT_API void *procreact_future_get_with_info(ProcReact_Future *future, ProcReact_Status *status,
                                                    ProcReact_ExitInfo *info) PROCREACT_NOEXCEPT;

/**
 * @brief The exit details of the future being completed, from inside an
 *        iterator's @c complete callback.
 *
 * Valid only for the @p future pointer that the callback received, while
 * the callback runs. Captured standard error is handed over on the first
 * call (`info->stderr_data` then belongs to the caller); later calls in the
 * same callback report it as NULL. A callback that never asks lets the
 * library free it.
 *
 * @return 0 with @p info filled, or -1 (errno ENOENT) when @p future is not
 *         the one being completed on this thread, EINVAL for NULL pointers.
 */
PROCREACT_API int procreact_future_info(const ProcReact_Future *future, ProcReact_ExitInfo *info) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_EXIT_H */

/** @} */
