/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_pid.h
 * @brief Waiting for one child process and turning its wait status into a result.
 *
 * @defgroup Pid Process waiting
 * @brief Statuses, result retrievers and waiting for a single process.
 *
 * These functions wait for exactly the process identifier they are given and
 * never for "any child": a child that belongs to somebody else is never reaped.
 * An interrupted wait (`EINTR`) is retried.
 * @{
 */
#ifndef PROCREACT_PID_H
#define PROCREACT_PID_H

#include <sys/types.h>
#include <unistd.h>

#include "procreact_util.h"

/**
 * @brief How the execution of a child process ended.
 *
 * The first four values and their order are those of libprocreact 0.1. Later
 * values are appended only; a client written for 0.1 that treats everything
 * other than #PROCREACT_STATUS_OK as failure stays correct.
 */
typedef enum {
    /** The process ran and was waited for. Its exit code may still be non-zero. */
    PROCREACT_STATUS_OK,
    /** The process could not be created (`pipe()` or `fork()` failed, or bad arguments). */
    PROCREACT_STATUS_FORK_FAIL,
    /** Waiting for the process failed (not a child of this process, or already reaped). */
    PROCREACT_STATUS_WAIT_FAIL,
    /** The process was ended by a signal. */
    PROCREACT_STATUS_ABNORMAL_TERMINATION,
    /**
     * The child's output does not fit the result type: a bytes result of
     * 4 GiB or more cannot be described by its `unsigned int` size. The output
     * was drained and discarded; nothing was truncated silently.
     * (procreact extension.)
     */
    PROCREACT_STATUS_RESULT_TOO_LARGE,
    /** Memory for the result could not be allocated. (procreact extension.) */
    PROCREACT_STATUS_OUT_OF_MEMORY,
    /** Reading the child's output failed with an error other than end of stream. (procreact extension.) */
    PROCREACT_STATUS_READ_FAIL
} ProcReact_Status;

/**
 * @brief Turns a wait status into a result.
 *
 * @param pid     the process that was waited for, or -1 when the wait failed
 * @param wstatus the wait status as `waitpid()` reports it
 * @param status  receives the outcome
 * @return the result the caller derives from the wait status
 */
typedef int (*ProcReact_RetrieveResult)(pid_t pid, int wstatus, ProcReact_Status *status);

PROCREACT_BEGIN_DECLS

/**
 * @brief Interprets a wait status as an exit code.
 *
 * @param pid     -1 means that the wait failed
 * @param wstatus wait status from `waitpid()`
 * @param status  set to #PROCREACT_STATUS_WAIT_FAIL when @p pid is -1,
 *                #PROCREACT_STATUS_OK for a normal exit and
 *                #PROCREACT_STATUS_ABNORMAL_TERMINATION otherwise. May be NULL.
 * @return the exit code for a normal exit, -1 otherwise. Nothing to free.
 */
PROCREACT_API int procreact_retrieve_exit_status(pid_t pid, int wstatus, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/**
 * @brief Interprets a wait status as a boolean: true when the exit code is 0.
 *
 * @param pid     -1 means that the wait failed
 * @param wstatus wait status from `waitpid()`
 * @param status  as for procreact_retrieve_exit_status(). May be NULL.
 * @return non-zero when the process exited with code 0, 0 otherwise (also on
 *         any failure, which @p status tells). Nothing to free.
 */
PROCREACT_API ProcReact_bool procreact_retrieve_boolean(pid_t pid, int wstatus, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/**
 * @brief Waits for one process and retrieves its result.
 *
 * Waits only for @p pid (`waitpid(pid)`, retried on `EINTR`).
 *
 * @param pid      the process; -1 (a failed fork) gives #PROCREACT_STATUS_FORK_FAIL;
 *                 0 and other negative values, which would name a group of
 *                 processes, give #PROCREACT_STATUS_WAIT_FAIL without waiting
 * @param retrieve turns the wait status into the result; NULL means
 *                 procreact_retrieve_exit_status()
 * @param status   receives the outcome. May be NULL.
 * @return what @p retrieve returns, or -1 when the process could not be waited for.
 */
PROCREACT_API int procreact_wait_and_retrieve(pid_t pid, ProcReact_RetrieveResult retrieve, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/**
 * @brief Waits for one process and returns its exit code.
 *
 * @param pid    the process (see procreact_wait_and_retrieve())
 * @param status receives the outcome. May be NULL.
 * @return the exit code, or -1 on any failure.
 */
PROCREACT_API int procreact_wait_for_exit_status(pid_t pid, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/**
 * @brief Waits for one process and tells whether it exited with code 0.
 *
 * @param pid    the process (see procreact_wait_and_retrieve())
 * @param status receives the outcome. May be NULL.
 * @return non-zero when the process exited with code 0, 0 otherwise.
 */
PROCREACT_API int procreact_wait_for_boolean(pid_t pid, ProcReact_Status *status) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_PID_H */

/** @} */
