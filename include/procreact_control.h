/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_control.h
 * @brief Time and control: deadlines, cancellation, output limits, and one
 *        pollable descriptor per collection for any main loop.
 *
 * **The stop sequence.** When a future's deadline passes, when it is
 * cancelled, or when its output passes its limit, the library stops its
 * child: it sends the *stop signal* (SIGTERM unless changed), waits the
 * *grace period* (2 seconds unless changed), then sends SIGKILL. A child
 * that leads its own process group (procreact_command_set_new_process_group(),
 * or a forked child that called setpgid(0, 0)) is signalled as a group, so
 * that a grandchild holding the output pipe stops too. Output that arrived
 * before the child stopped is kept. If the output pipe is still open a
 * quarter of a second after SIGKILL (a grandchild outside the group holds
 * it), reading ends there. The completion's ProcReact_ExitInfo::flags says
 * why the child was stopped: #PROCREACT_EXIT_TIMED_OUT,
 * #PROCREACT_EXIT_CANCELLED, #PROCREACT_EXIT_OUTPUT_LIMIT.
 *
 * Time is kept with CLOCK_MONOTONIC; no wait polls. A blocking
 * procreact_future_get() sleeps in poll() with the time left, an iterator
 * sleeps in epoll with a timerfd armed at its earliest deadline, and a
 * deadline never delays a sibling.
 *
 * **Main loops.** procreact_future_iterator_fd() and procreact_pid_iterator_fd()
 * give the descriptor a main loop watches for input (GLib's g_unix_fd_add(),
 * libuv's uv_poll_t, asyncio's add_reader()). It is level-triggered: it stays
 * readable while a call of procreact_future_iterator_step() (or
 * procreact_pid_iterator_step()) would make progress (output to read, a child
 * that exited, a deadline or grace period that passed, a cancellation), and
 * that call never blocks. No SIGCHLD handler is involved, and no child but
 * the collection's own is ever waited for. Behind the descriptor, the
 * children's exits are watched through one io_uring instance of the
 * collection's (`waitid`, Linux 6.7 and later) where the kernel allows it,
 * otherwise through a pidfd per child; `PROCREACT_NO_EXIT_RING=1` in the
 * environment chooses pidfds. A wait on the ring belongs to the thread that
 * stepped the collection: when that thread ends, the next step asks again.
 */
#ifndef PROCREACT_CONTROL_H
#define PROCREACT_CONTROL_H

#include <stddef.h>

#include "procreact_exit.h"
#include "procreact_future.h"
#include "procreact_future_iterator.h"
#include "procreact_pid_iterator.h"
#include "procreact_util.h"

PROCREACT_BEGIN_DECLS

/** @name Output whatever the exit
 * @{ */

/**
 * @brief A type like procreact_create_bytes_type() whose result is built
 *        whatever the child's end: a non-zero exit, a signal, or a stop by
 *        deadline, cancellation or output limit still give the output that
 *        arrived. The status is as for the bytes type (#PROCREACT_STATUS_OK
 *        for any exit code, #PROCREACT_STATUS_ABNORMAL_TERMINATION for a
 *        signal); the exit code comes from procreact_future_get_with_info().
 *        The result is a `malloc`'ed ::ProcReact_BytesState (free its
 *        @c data, then it); NULL only when out of memory or past 4 GiB.
 *        (The bytes, string and string-array types keep 0.1's rule of a
 *        result only on exit code 0, except for a child the library
 *        stopped, whose output up to then is always kept.)
 */
PROCREACT_API ProcReact_Type procreact_create_output_type(void) PROCREACT_NOEXCEPT;

/** @brief The output type's finalize (see procreact_type_finalize_bytes()). */
PROCREACT_API void *procreact_type_finalize_output(void *state, pid_t pid, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/** @} */

/** @name One future
 * These act on a future the library started (procreact_initialize_future(),
 * procreact_command_spawn()) that is still running and has not been handed
 * to an iterator yet, except procreact_future_cancel(), which also reaches a
 * future inside an iterator or inside a procreact_future_get() in another
 * thread. They return 0, or -1 with errno EINVAL (NULL or bad argument) or
 * ESRCH (the future is finished, failed, a stale copy, built by hand, or
 * already taken over by an iterator).
 * @{ */

/**
 * @brief Gives @p future a deadline @p seconds from now; when it passes, the
 *        stop sequence runs and the completion is marked
 *        #PROCREACT_EXIT_TIMED_OUT.
 * @param seconds 0 or more (0 means at once); a negative value removes the
 *        deadline. NaN is EINVAL.
 */
PROCREACT_API int procreact_future_set_timeout(ProcReact_Future *future, double seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Sets the stop sequence of @p future: @p signo first (0: SIGKILL at
 *        once), then SIGKILL after @p grace_seconds.
 * @param signo 0 or a signal number (1 to 64).
 * @param grace_seconds 0 or more.
 */
PROCREACT_API int procreact_future_set_stop(ProcReact_Future *future, int signo, double grace_seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Caps each captured stream of @p future (the output its type reads,
 *        and a captured stderr) at @p max_bytes. Once a stream passes the
 *        cap, reading it ends, the stop sequence runs, and the completion is
 *        marked #PROCREACT_EXIT_OUTPUT_LIMIT. The result holds exactly the
 *        first @p max_bytes bytes for the bytes and string types and for
 *        stderr; a string array or custom type may hold up to one read
 *        (64 KiB) more.
 * @param max_bytes the cap; (size_t)-1 removes it.
 */
PROCREACT_API int procreact_future_set_output_limit(ProcReact_Future *future, size_t max_bytes) PROCREACT_NOEXCEPT;

/**
 * @brief Stops @p future's child with its stop sequence; the completion is
 *        marked #PROCREACT_EXIT_CANCELLED. Safe from any thread and from a
 *        completion callback. The future still has to be collected as usual
 *        (procreact_future_get(), or its iterator completes it).
 */
PROCREACT_API int procreact_future_cancel(const ProcReact_Future *future) PROCREACT_NOEXCEPT;

/** @} */

/** @name Future iterators
 * @{ */

/**
 * @brief Gives every future that the iterator takes over from now on a
 *        deadline of @p seconds after it is taken over, unless the future
 *        has a deadline of its own (a negative value removes the default).
 * @return 0, or -1 with errno EINVAL or ENOMEM.
 */
PROCREACT_API int procreact_future_iterator_set_timeout(ProcReact_FutureIterator *iterator,
                                                        double seconds) PROCREACT_NOEXCEPT;

/**
 * @brief The stop sequence for the iterator's futures that have no stop
 *        sequence of their own (see procreact_future_set_stop()).
 */
PROCREACT_API int procreact_future_iterator_set_stop(ProcReact_FutureIterator *iterator, int signo,
                                                     double grace_seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Cancels the whole collection: nothing more is spawned (has_next is
 *        not asked again), every running child is stopped with its stop
 *        sequence, and each completes (through `complete`) marked
 *        #PROCREACT_EXIT_CANCELLED. The run functions return once all have
 *        completed. Safe from a completion callback, and from another thread
 *        once the iterator has started (a future spawned, or
 *        procreact_future_iterator_fd() called).
 * @return 0, or -1 with errno EINVAL or ENOMEM.
 */
PROCREACT_API int procreact_future_iterator_cancel(ProcReact_FutureIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Hands @p future to the iterator, as if its `next` had returned it
 *        (for callers that cannot return a struct from a callback, such as
 *        Python's ctypes). The iterator owns the future from now on and
 *        completes it through `complete`; the caller's struct is spent (its
 *        `fd` becomes -1). A future that is not running (a failed spawn, a
 *        finished one) is completed before this returns. An iterator may use
 *        both `next` and this call; `has_next` and `next` may be NULL when
 *        it only uses this call. The iterator's limit is the caller's to keep.
 * @return 0, or -1 with errno EINVAL for NULL arguments.
 */
PROCREACT_API int procreact_future_iterator_add(ProcReact_FutureIterator *iterator,
                                                ProcReact_Future *future) PROCREACT_NOEXCEPT;

/**
 * @brief The descriptor a main loop watches for input (see the file
 *        description). Owned by the iterator: valid until
 *        procreact_destroy_future_iterator(); never close it.
 * @return the descriptor, or -1 with errno EINVAL or ENOMEM (or EMFILE).
 */
PROCREACT_API int procreact_future_iterator_fd(ProcReact_FutureIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Does what can be done now, without blocking: reads the output that
 *        is ready, runs the stop sequences that are due, completes the
 *        futures whose children ended (calling `complete`), and spawns new
 *        futures while fewer than @p limit run (0: no limit) and has_next
 *        says there are more.
 * @return 1 while the collection has children running, 0 when it has none
 *         left and has_next said there are no more (or it was cancelled),
 *         -1 with errno EINVAL for a NULL iterator.
 */
PROCREACT_API int procreact_future_iterator_step(ProcReact_FutureIterator *iterator,
                                                 unsigned int limit) PROCREACT_NOEXCEPT;

/**
 * @brief Sets how many threads fill the iterator's free slots: the calling
 *        thread and up to @p threads - 1 launcher threads of the library
 *        (see procreact_future_iterator.h, "Spawning from several threads").
 *
 * One spawn holds its thread until the child has reached `exec`, so when
 * two or more slots are free (in procreact_fork_buffer_and_wait_in_parallel_limit(),
 * procreact_fork_in_parallel_buffer_and_wait() and procreact_future_iterator_step())
 * several threads spawn at once and their waits overlap. @c has_next and
 * @c next are then called on those threads too, never two at once, but
 * **@c next must claim its element before it spawns**: while one thread's
 * @c next waits inside procreact_command_spawn() for its child, another
 * thread may ask @c has_next and run @c next. Code that counts its element
 * after the spawn (`f = spawn(); count++;`) would start one too many:
 * leave such an iterator at 1.
 *
 * Since 0.6.0 (version node `PROCREACT_0.6`).
 *
 * @param threads 0 for the library's default for iterators, which is 1
 *                (off) unless the environment's `PROCREACT_SPAWN_THREADS`
 *                says otherwise; 1 for off whatever the environment says;
 *                2 to 8 for that many threads.
 * @return 0, or -1 with errno EINVAL (NULL iterator, @p threads above 8)
 *         or ENOMEM.
 */
PROCREACT_API int procreact_future_iterator_set_spawn_threads(ProcReact_FutureIterator *iterator,
                                                              unsigned int threads) PROCREACT_NOEXCEPT;

/** @} */

/** @name Pid iterators
 * A pid iterator's settings, cancellation and descriptor belong to its value
 * (callbacks and data), like its children; they last until
 * procreact_destroy_pid_iterator(), which a program that uses them must call.
 * @{ */

/** @brief Gives each child that `next` returns from now on a deadline @p seconds after it is spawned. */
PROCREACT_API int procreact_pid_iterator_set_timeout(ProcReact_PidIterator *iterator, double seconds) PROCREACT_NOEXCEPT;

/** @brief The stop sequence for the iterator's children. */
PROCREACT_API int procreact_pid_iterator_set_stop(ProcReact_PidIterator *iterator, int signo,
                                                  double grace_seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Cancels the collection, as procreact_future_iterator_cancel() does.
 *        Completions of stopped children report their status as usual; inside
 *        the callback, procreact_pid_info() says #PROCREACT_EXIT_CANCELLED.
 */
PROCREACT_API int procreact_pid_iterator_cancel(ProcReact_PidIterator *iterator) PROCREACT_NOEXCEPT;

/** @brief The descriptor a main loop watches (see procreact_future_iterator_fd()). */
PROCREACT_API int procreact_pid_iterator_fd(ProcReact_PidIterator *iterator) PROCREACT_NOEXCEPT;

/** @brief The non-blocking step (see procreact_future_iterator_step()). */
PROCREACT_API int procreact_pid_iterator_step(ProcReact_PidIterator *iterator, unsigned int limit) PROCREACT_NOEXCEPT;

/**
 * @brief Inside a pid iterator's completion callback on this thread, fills
 *        @p info with what is known of @p pid's end (exit code or signal,
 *        stop flags, times, peak memory). stderr_data is always NULL.
 * @return 0, or -1 with errno ESRCH outside such a callback, EINVAL for NULL.
 */
PROCREACT_API int procreact_pid_info(pid_t pid, ProcReact_ExitInfo *info) PROCREACT_NOEXCEPT;

/** @} */

/**
 * @brief The library's version, such as "0.4.0" (a static string; never free it).
 *        Bindings use it to check that the library they loaded is recent enough.
 */
PROCREACT_API const char *procreact_version(void) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_CONTROL_H */
