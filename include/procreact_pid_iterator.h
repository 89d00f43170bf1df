/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_pid_iterator.h
 * @brief Running a collection of processes in parallel and collecting their exit statuses.
 *
 * @defgroup PidIterator Process iterators
 * @brief Spawn many processes (your @c next forks them), get a callback per
 *        finished one.
 *
 * The iterator remembers the pids that @c next returned and waits only for
 * those: children the application or another iterator started are never
 * reaped. It keeps that bookkeeping per iterator address, so the iterator must
 * not be moved while it has children running.
 * @{
 */
#ifndef PROCREACT_PID_ITERATOR_H
#define PROCREACT_PID_ITERATOR_H

#include "procreact_pid.h"
#include "procreact_util.h"

/** @brief Tells whether the collection has another element. */
typedef ProcReact_bool (*ProcReact_PidIteratorHasNext)(void *data);

/** @brief Forks the next element's process and returns its pid (-1 on failure). */
typedef pid_t (*ProcReact_PidIteratorNext)(void *data);

/** @brief Called once per finished process with the result of @c retrieve. */
typedef void (*ProcReact_PidIteratorComplete)(void *data, pid_t pid, ProcReact_Status status, int result);

/** @brief Alias of struct ProcReact_PidIterator. */
typedef struct ProcReact_PidIterator ProcReact_PidIterator;

/**
 * @brief Iterates over a collection, one process per element.
 */
struct ProcReact_PidIterator {
    /** Tells whether there is another element. */
    ProcReact_PidIteratorHasNext has_next;
    /** Forks the next element's process. */
    ProcReact_PidIteratorNext next;
    /** Turns a wait status into a result (NULL means procreact_retrieve_exit_status()). */
    ProcReact_RetrieveResult retrieve;
    /** Receives each finished process. May be NULL. */
    ProcReact_PidIteratorComplete complete;
    /** The client's data, passed to the functions. */
    void *data;
    /** The number of children running now (read-only for clients). */
    unsigned int running_processes;
};

PROCREACT_BEGIN_DECLS

/**
 * @brief Makes a pid iterator.
 * @return the iterator by value. It holds nothing until a process is spawned,
 *         and nothing again once every process has completed.
 */
PROCREACT_API ProcReact_PidIterator procreact_initialize_pid_iterator(ProcReact_PidIteratorHasNext has_next,
                                                                     ProcReact_PidIteratorNext next,
                                                                     ProcReact_RetrieveResult retrieve,
                                                                     ProcReact_PidIteratorComplete complete,
                                                                     void *data) PROCREACT_NOEXCEPT;

/**
 * @brief Spawns the next element, if there is one.
 *
 * A pid of -1 is completed at once with #PROCREACT_STATUS_FORK_FAIL and result
 * -1; so is 0 or any other value that does not name one process. A pid that is
 * not a child of this process is completed at once with
 * #PROCREACT_STATUS_WAIT_FAIL.
 *
 * @return non-zero when @c has_next was true, 0 when the collection is
 *         exhausted or @p iterator, its @c has_next or its @c next is NULL.
 */
PROCREACT_API ProcReact_bool procreact_spawn_next_pid(ProcReact_PidIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Waits until one of this iterator's children finishes and completes it.
 *
 * Sleeps without using CPU; reaps only this iterator's children.
 *
 * @return non-zero when a child was completed, 0 when the iterator has no
 *         children running (or is NULL).
 */
PROCREACT_API ProcReact_bool procreact_wait_for_process_to_complete(ProcReact_PidIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Spawns every element at once, then waits for all of them.
 */
PROCREACT_API void procreact_fork_in_parallel_and_wait(ProcReact_PidIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Runs every element with at most @p limit children at a time.
 * @param iterator the iterator
 * @param limit    the most children at once; 0 means no limit
 */
PROCREACT_API void procreact_fork_and_wait_in_parallel_limit(ProcReact_PidIterator *iterator, const unsigned int limit) PROCREACT_NOEXCEPT;

/**
 * @brief Releases an iterator's bookkeeping (procreact extension).
 *
 * Children still running are killed (`SIGKILL`) and reaped without calling
 * @c complete. Needed only to abandon an iterator early: one that ran to the
 * end holds nothing. NULL is allowed.
 */
PROCREACT_API void procreact_destroy_pid_iterator(ProcReact_PidIterator *iterator) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_PID_ITERATOR_H */

/** @} */
