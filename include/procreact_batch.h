/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_batch.h
 * @brief Run many programs with one call per batch, not per program.
 *
 * @defgroup Batch Batches of programs
 * @brief Describe how programs run once (a ProcReact_Command as a
 *        template), hand over many argument lists in one call, take many
 *        results back in one call.
 *
 * A batch is for callers that pay per call: a binding through a foreign
 * function interface, or a tool that starts thousands of short programs.
 * procreact_batch_submit() queues any number of jobs (their argument lists
 * as one flat array); procreact_batch_wait() starts queued jobs while fewer
 * than the batch's limit run, serves every running program's pipes, and
 * fills an array of ::ProcReact_BatchResult with the jobs that have ended,
 * in the order they ended. No callback runs, and no call is made per
 * program.
 *
 * Every job runs as the template says (environment, directory, standard
 * streams, descriptors, process group): the template's own argument list is
 * not used, each job gives its whole one. A batch runs its programs on the
 * library's one engine, exactly as a future iterator runs spawned futures
 * (the same launcher, the same stop sequence, the same descriptor for main
 * loops).
 *
 * **Ownership.** The batch is the caller's: made by procreact_batch_new(),
 * released by procreact_batch_free(). The template is copied: the caller
 * may change or free it at once. Submitted argument lists are copied. Every
 * pointer inside a result (captured output) belongs to the batch and stays
 * valid until the next procreact_batch_wait() or procreact_batch_free() of
 * that batch; copy what you keep.
 *
 * **Threads.** A batch is used by one thread at a time, except
 * procreact_batch_cancel(), which any thread may call while another waits.
 * Inside procreact_batch_wait(), jobs are started by the waiting thread
 * and, by default on a machine of two or more CPUs, by one to three launcher
 * threads of the library (procreact_batch_set_spawn_threads()), which take
 * the waiting thread's signal mask while they do; the programs are the
 * same either way.
 * @{
 */
#ifndef PROCREACT_BATCH_H
#define PROCREACT_BATCH_H

#include <stddef.h>
#include <sys/types.h>

#include "procreact_exit.h"
#include "procreact_pid.h"
#include "procreact_spawn.h"
#include "procreact_util.h"

PROCREACT_BEGIN_DECLS

/** @brief A batch of programs: opaque, made by procreact_batch_new(). */
typedef struct ProcReact_Batch ProcReact_Batch;

/** @brief One ended job, filled by procreact_batch_wait(). */
typedef struct {
    /** The job's number: its position among every job submitted to the batch, from 0. */
    size_t index;
    /**
     * How the job ended, as for a spawned future of the output type:
     * #PROCREACT_STATUS_OK when the program ran and was reaped (whatever
     * its exit code), #PROCREACT_STATUS_FORK_FAIL when it could not be
     * started (`info.exec_errno` says why) or was cancelled before it
     * started (`info.flags` has #PROCREACT_EXIT_CANCELLED), another status
     * when waiting or reading failed.
     */
    ProcReact_Status status;
    /**
     * The exit details (exit code or signal, flags, times, peak memory).
     * Its `stderr_data` is always NULL here: captured standard error is in
     * @c stderr_data below, owned by the batch.
     */
    ProcReact_ExitInfo info;
    /**
     * Captured standard output (with standard error when merged), owned by
     * the batch until its next wait or free; NULL when standard output is
     * not captured or nothing came. Not NUL-terminated.
     */
    const char *stdout_data;
    /** The number of bytes at @c stdout_data. */
    size_t stdout_length;
    /** Captured standard error, owned likewise; NULL when not captured or empty. */
    const char *stderr_data;
    /** The number of bytes at @c stderr_data. */
    size_t stderr_length;
} ProcReact_BatchResult;

/**
 * @brief Makes a batch that runs jobs as @p command describes.
 *
 * @param command        the template (copied; its argument list is not used)
 * @param max_in_flight  the most programs running at once (at least 1)
 * @return the batch, or NULL with errno set: EINVAL (NULL command, a limit
 *         of 0, or a channel mode on the template), ENOMEM (out of memory,
 *         or of descriptors for its waker).
 *         Release it with procreact_batch_free().
 */
PROCREACT_API ProcReact_Batch *procreact_batch_new(const ProcReact_Command *command,
                                                   unsigned int max_in_flight) PROCREACT_NOEXCEPT;

/**
 * @brief Stops every job still running (`SIGKILL`), reaps it, and releases
 *        the batch and every result's data. NULL is allowed.
 *
 * For the gentler stop sequence first, call procreact_batch_cancel() and
 * wait until procreact_batch_remaining() is 0.
 */
PROCREACT_API void procreact_batch_free(ProcReact_Batch *batch) PROCREACT_NOEXCEPT;

/**
 * @brief Sets a time limit for each job, counted from its start.
 *
 * When it passes, the job's stop sequence runs (see
 * procreact_batch_set_stop()) and its result has #PROCREACT_EXIT_TIMED_OUT.
 * Applies to jobs started afterwards.
 *
 * @param seconds the limit; a negative value removes it
 * @return 0, or -1 with errno EINVAL (NULL batch, NaN or too large)
 */
PROCREACT_API int procreact_batch_set_timeout(ProcReact_Batch *batch, double seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Sets each job's stop sequence: @p signo, then `SIGKILL` after
 *        @p grace_seconds (as procreact_future_set_stop()). The default is
 *        `SIGTERM` and 2 seconds. Applies to jobs started afterwards.
 * @return 0, or -1 with errno EINVAL
 */
PROCREACT_API int procreact_batch_set_stop(ProcReact_Batch *batch, int signo,
                                           double grace_seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Caps each captured stream of each job at @p bytes (as
 *        procreact_future_set_output_limit()): past it the job is stopped
 *        and its result has #PROCREACT_EXIT_OUTPUT_LIMIT. Applies to jobs
 *        started afterwards.
 * @return 0, or -1 with errno EINVAL
 */
PROCREACT_API int procreact_batch_set_output_limit(ProcReact_Batch *batch, size_t bytes) PROCREACT_NOEXCEPT;

/**
 * @brief Sets how many threads start the batch's jobs: the thread in
 *        procreact_batch_wait() and up to @p threads - 1 launcher threads
 *        of the library.
 *
 * One spawn holds its thread until the child has reached `exec` (about
 * 30-60 us on an idle CPU, much longer when the child waits for a CPU), so
 * when two or more slots are free several threads start jobs at once and
 * their waits overlap. The batch claims each job before it starts it, so
 * this is safe for every batch, and it is on by default from two CPUs:
 * two threads, whose overlapping waits bought 2-7 % more programs/s on two
 * cores for a few microseconds more parent CPU per program, and from 8
 * CPUs up to four, where one thread (about 20,000 programs a second) would
 * limit the programs/s the CPUs could run. Applies from the next wait.
 * Since 0.6.0 (version node `PROCREACT_0.6`).
 *
 * @param threads 0 for the library's default: `PROCREACT_SPAWN_THREADS`
 *                when the environment sets it (1 to 8), else 1 on one
 *                CPU that the process may run on and
 *                max(2, min(4, CPUs / 4)) on more; 1 for one thread (no launcher thread is ever
 *                started for it); 2 to 8 for that many.
 * @return 0, or -1 with errno EINVAL (NULL batch, @p threads above 8)
 */
PROCREACT_API int procreact_batch_set_spawn_threads(ProcReact_Batch *batch, unsigned int threads) PROCREACT_NOEXCEPT;

/**
 * @brief Queues @p count jobs.
 *
 * @param argv   every job's arguments, one after the other, with no NULL
 *               between them: job `i` takes the next `counts[i]` strings
 * @param counts each job's number of arguments (at least 1; the first is
 *               the program, looked for in `PATH` when it has no slash)
 * @param count  the number of jobs
 * @return the index of the first job queued (the others follow in order),
 *         or -1 with errno set and nothing queued: EINVAL (NULL batch,
 *         NULL arrays with a non-zero count, a job with no arguments, a
 *         NULL or empty program, a NULL argument), ECANCELED (the batch was
 *         cancelled), ENOMEM. Nothing starts before the next wait.
 */
PROCREACT_API ssize_t procreact_batch_submit(ProcReact_Batch *batch, const char *const *argv, const size_t *counts,
                                               size_t count) PROCREACT_NOEXCEPT;

/**
 * @brief Starts queued jobs up to the limit and hands out ended ones.
 *
 * Releases the data of the results handed out by the previous call, starts
 * queued jobs while fewer than the limit run, and serves the running ones
 * until at least one has ended or @p timeout_ms passes; then fills @p out
 * with up to @p max ended jobs (those left over come with the next call).
 * While queued jobs remain to take the place of ended ones, a wait that has
 * results goes on waiting for at most 1 ms more (never past @p timeout_ms),
 * starting them and gathering the results of others that end meanwhile,
 * until @p max have: one return for several programs when they end close
 * together. Starting a job takes until its program is executed (about
 * 0.05 ms on an idle core, up to a millisecond or more when every core is
 * busy), and a result waits while the wait starts jobs: with many short
 * programs a result can come back some milliseconds after its end.
 * A job that cannot be started ends at once (#PROCREACT_STATUS_FORK_FAIL).
 *
 * @param timeout_ms how long to wait: -1 for as long as it takes, 0 to
 *                   look without sleeping
 * @return the number of results filled: 0 when the time passed, or when no
 *         job is left (procreact_batch_remaining() tells them apart); -1 with
 *         errno EINVAL (NULL batch, NULL @p out with a non-zero @p max) or
 *         ENOMEM (the ended jobs stay for the next call).
 */
PROCREACT_API ssize_t procreact_batch_wait(ProcReact_Batch *batch, ProcReact_BatchResult *out, size_t max,
                                             int timeout_ms) PROCREACT_NOEXCEPT;

/**
 * @brief The number of jobs submitted and not yet handed out (queued,
 *        running or ended); 0 for NULL.
 */
PROCREACT_API size_t procreact_batch_remaining(const ProcReact_Batch *batch) PROCREACT_NOEXCEPT;

/**
 * @brief A descriptor that becomes readable when procreact_batch_wait()
 *        has something to do (level-triggered), for a main loop; owned by
 *        the batch. -1 with errno set for NULL or when it cannot be made.
 *
 * Queued jobs start only in procreact_batch_wait(): call it (with a
 * timeout of 0) after submitting, not only when the descriptor is readable.
 *
 * Make it only for a main loop: a batch whose caller sleeps in
 * procreact_batch_wait() (a timeout of -1 or more than 0) waits with poll()
 * over its few descriptors, while one with this descriptor keeps them in an
 * epoll set and a timer, at one or two more system calls per program.
 */
PROCREACT_API int procreact_batch_fd(ProcReact_Batch *batch) PROCREACT_NOEXCEPT;

/**
 * @brief Cancels the batch, from any thread.
 *
 * Running jobs go through their stop sequence and end with
 * #PROCREACT_EXIT_CANCELLED; queued jobs never start and end with
 * #PROCREACT_STATUS_FORK_FAIL, `exec_errno` ECANCELED and the same flag.
 * Every job is still handed out by procreact_batch_wait(); later submits
 * fail with ECANCELED.
 * @return 0, or -1 with errno EINVAL for NULL
 */
PROCREACT_API int procreact_batch_cancel(ProcReact_Batch *batch) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_BATCH_H */

/** @} */
