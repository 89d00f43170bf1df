/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_future.h
 * @brief Futures: a child process whose output becomes a value in the parent.
 *
 * @defgroup Future Futures
 * @brief Fork a child that writes its result into a pipe; read it back as a value.
 *
 * @code
 * ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
 * if (future.pid == 0) {
 *     dprintf(future.fd, "Hello %s!", name);  // the child writes its result
 *     _exit(0);                               // and must end with _exit()
 * } else if (future.pid > 0) {
 *     ProcReact_Status status;
 *     char *s = procreact_future_get(&future, &status);  // caller frees s
 * }
 * @endcode
 * @{
 */
#ifndef PROCREACT_FUTURE_H
#define PROCREACT_FUTURE_H

#include <sys/types.h>
#include <unistd.h>

#include "procreact_pid.h"
#include "procreact_types.h"
#include "procreact_util.h"

/**
 * @brief A child process with a pipe that carries its result.
 *
 * Clients read @c pid, @c fd and @c result. @c state belongs to the library.
 */
typedef struct {
    /** The child's process id in the parent, 0 in the child, -1 when creation failed. */
    pid_t pid;
    /** In the parent: the read end of the pipe. In the child: the write end. -1 once released. */
    int fd;
    /** The type the output is turned into. */
    ProcReact_Type type;
    /** The result once known (after procreact_future_get() or an iterator's completion), else NULL. */
    void *result;
    /** Reserved for the library: the reading state and bookkeeping. Do not touch. */
    void *state;
} ProcReact_Future;

PROCREACT_BEGIN_DECLS

/**
 * @brief Creates a pipe and forks a child.
 *
 * In the child this returns with `pid == 0` and @c fd the write end of the
 * pipe; the child writes its result there and ends with `_exit()`. The write
 * end stays open across `exec()` in the child, so it can be handed to a
 * program (for instance with `dup2(future.fd, 1)`). Of the library's other
 * descriptors the child holds no pipe write end (so no other future's
 * reader ever waits on it); it may inherit read ends, pidfds, the parent's
 * ends of other children's channels (procreact_channel.h) and the epoll,
 * timer and event descriptors of collections, all close-on-exec: they
 * vanish at `exec()`, must not be used by the child, and cost it nothing.
 * (A channel end so inherited delays that channel's end of stream for its
 * child only if the parent process dies without closing it, and only
 * until the inheriting child execs or exits.)
 * (Closing them at every fork would cost one call per running child; the
 * work per fork stays independent of how many children run.) The
 * application's own descriptors stay open as they were.
 *
 * In the parent this returns the child's pid, @c fd the read end
 * (close-on-exec) and @c result NULL. Every parent-side future must be
 * passed to procreact_future_get() or procreact_destroy_future(), or handed
 * to a future iterator, or its child stays unreaped.
 *
 * @param type the result type; a type whose @c append or @c finalize is NULL
 *             is refused
 * @return the future by value. `pid == -1` (and `fd == -1`) when the pipe or
 *         the fork failed or @p type was refused; nothing to release then,
 *         though releasing it is harmless.
 */
PROCREACT_API ProcReact_Future procreact_initialize_future(ProcReact_Type type) PROCREACT_NOEXCEPT;

/**
 * @brief Abandons a future: releases everything it holds.
 *
 * A child that is still running is killed (`SIGKILL`) and reaped, so no
 * zombie is left. A result already delivered by procreact_future_get()
 * belongs to the caller and is not freed. Safe to call on a failed future, on
 * a completed one, more than once, and with NULL.
 *
 * @param future the future
 */
PROCREACT_API void procreact_destroy_future(ProcReact_Future *future) PROCREACT_NOEXCEPT;

/**
 * @brief Reads the child's whole output, waits for it and returns the result.
 *
 * Blocks until the child has closed its end of the pipe and exited. The
 * pipe and the child are released before this returns. Calling it again
 * returns the same result pointer and status without reading or waiting.
 *
 * @param future the future (NULL gives #PROCREACT_STATUS_FORK_FAIL and NULL)
 * @param status receives the outcome: #PROCREACT_STATUS_FORK_FAIL for a failed
 *               future, else what the type's finalize reports. May be NULL.
 * @return the type's result, owned by the caller (see ::ProcReact_Type for
 *         how each built-in result is freed); NULL on failure. Also stored in
 *         `future->result`.
 */
PROCREACT_API void *procreact_future_get(ProcReact_Future *future, ProcReact_Status *status) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_FUTURE_H */

/** @} */
