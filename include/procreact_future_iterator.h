/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_future_iterator.h
 * @brief Running a collection of futures in parallel.
 *
 * @defgroup FutureIterator Future iterators
 * @brief Spawn many futures, collect their outputs concurrently, get a
 *        callback per completed child.
 *
 * The iterator waits on all of its children's pipes and exits at once, so a
 * quiet child never delays a sibling. A future completes when its child has
 * closed the pipe and exited; then @c complete is called with
 * `future->result` set, and the result belongs to the client.
 *
 * If a child leaves a descendant that keeps the pipe's write end open, the
 * future stays running until that descendant closes it or exits; its
 * siblings are not delayed.
 *
 * **Spawning from several threads** (opt-in: procreact_future_iterator_set_spawn_threads(),
 * or `PROCREACT_SPAWN_THREADS=N` in the environment, N from 1 to 8, which
 * sets the default of every iterator left at 0; unset: off). One spawn
 * holds its thread until the child has reached `exec`, so when two or more
 * slots are free the library's launcher threads fill them together with
 * the calling thread (in procreact_fork_buffer_and_wait_in_parallel_limit(),
 * procreact_fork_in_parallel_buffer_and_wait() and
 * procreact_future_iterator_step()). @c has_next and @c next are then
 * called on those threads too, never two at once; but while one thread's
 * @c next waits inside procreact_command_spawn() for its child, another
 * thread may ask @c has_next and run @c next. So @c next must claim its
 * element (update what @c has_next reads) before it spawns; that is why it
 * is off by default here, and on by default for batches
 * (procreact_batch_set_spawn_threads()), whose jobs the library claims
 * itself. While they run the callbacks, the launcher threads have the
 * driving thread's signal mask (a child forked in @c next inherits it as
 * usual); otherwise they block every signal. @c complete runs on the
 * driving thread, except for a future that failed or finished before the
 * iterator took it over. The launcher threads are started by the first
 * fill that asks for several, end after 2 seconds without work, and the
 * idle ones are joined when the library is unloaded. Measured gain and
 * cost: bench/README.
 * @{
 */
#ifndef PROCREACT_FUTURE_ITERATOR_H
#define PROCREACT_FUTURE_ITERATOR_H

#include "procreact_future.h"
#include "procreact_pid.h"
#include "procreact_util.h"

/** @brief Tells whether the collection has another element. */
typedef ProcReact_bool (*ProcReact_FutureIteratorHasNext)(void *data);

/** @brief Spawns the next element's future (normally with procreact_initialize_future()). */
typedef ProcReact_Future (*ProcReact_FutureIteratorNext)(void *data);

/**
 * @brief Called once per finished future.
 *
 * `future->result` holds the result, now owned by the callee. The future
 * pointer is valid only during the call.
 */
typedef void (*ProcReact_FutureIteratorComplete)(void *data, ProcReact_Future *future, ProcReact_Status status);

/** @brief Alias of struct ProcReact_FutureIterator. */
typedef struct ProcReact_FutureIterator ProcReact_FutureIterator;

/**
 * @brief Iterates over a collection, one future per element.
 *
 * Make it with procreact_initialize_future_iterator() and release it with
 * procreact_destroy_future_iterator(). An iterator is used by one thread at
 * a time; different iterators may be used by different threads at once.
 */
struct ProcReact_FutureIterator {
    /** Tells whether there is another element. */
    ProcReact_FutureIteratorHasNext has_next;
    /** Spawns the next element's future. */
    ProcReact_FutureIteratorNext next;
    /** Receives each finished future. May be NULL (results are then freed if built-in, or dropped). */
    ProcReact_FutureIteratorComplete complete;
    /** The client's data, passed to the three functions. */
    void *data;
    /** The number of children running now (read-only for clients). */
    unsigned int running_processes;
    /** Reserved for the library (its per-iterator state). Do not touch. */
    ProcReact_Future *futures;
};

PROCREACT_BEGIN_DECLS

/**
 * @brief Makes a future iterator.
 * @return the iterator by value; release it with procreact_destroy_future_iterator().
 */
PROCREACT_API ProcReact_FutureIterator procreact_initialize_future_iterator(ProcReact_FutureIteratorHasNext has_next,
                                                                           ProcReact_FutureIteratorNext next,
                                                                           ProcReact_FutureIteratorComplete complete,
                                                                           void *data) PROCREACT_NOEXCEPT;

/**
 * @brief Releases an iterator's resources.
 *
 * Children still running are killed (`SIGKILL`) and reaped, their partial
 * results discarded without calling @c complete. NULL is allowed. The
 * iterator may be used again afterwards, as if new.
 */
PROCREACT_API void procreact_destroy_future_iterator(ProcReact_FutureIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Spawns the next element, if there is one.
 *
 * A future whose pid is -1 (or otherwise not a child) is completed at once
 * with #PROCREACT_STATUS_FORK_FAIL.
 *
 * @return non-zero when @c has_next was true (whether or not the spawn
 *         succeeded), 0 when the collection is exhausted or @p iterator, its
 *         @c has_next or its @c next is NULL.
 */
PROCREACT_API ProcReact_bool procreact_spawn_next_future(ProcReact_FutureIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Moves output from the running children into their states and
 *        completes every child that has finished.
 *
 * Sleeps until at least one child has output, closes its pipe or exits, so
 * `while (procreact_buffer(&it) > 0);` uses no CPU while children are quiet.
 * Returns at once when nothing runs.
 *
 * @return the number of children still running (0 for NULL).
 */
PROCREACT_API unsigned int procreact_buffer(ProcReact_FutureIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Spawns every element at once, then buffers until all are complete.
 */
PROCREACT_API void procreact_fork_in_parallel_buffer_and_wait(ProcReact_FutureIterator *iterator) PROCREACT_NOEXCEPT;

/**
 * @brief Runs every element with at most @p limit children at a time.
 *
 * @param iterator the iterator
 * @param limit    the most children at once; 0 means no limit (as
 *                 procreact_fork_in_parallel_buffer_and_wait())
 */
PROCREACT_API void procreact_fork_buffer_and_wait_in_parallel_limit(ProcReact_FutureIterator *iterator,
                                                                    const unsigned int limit) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_FUTURE_ITERATOR_H */

/** @} */
