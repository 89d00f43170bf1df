/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_pool.h
 * @brief Worker pools: reused processes that run tasks, survive their
 *        workers' crashes and kill tasks past their deadlines.
 *
 * @defgroup Pool Worker pools
 * @brief A pool keeps a number of worker processes and hands each one task
 *        at a time over a message channel (procreact_channel.h).
 *
 * **Workers.** A pool's workers are either forked children that call the
 * caller's C function once per task (procreact_pool_config_set_function()),
 * or spawned programs that speak the channel's framing, one reply per
 * request (procreact_pool_config_set_program()). A request and a reply are
 * bytes; their encoding is the caller's.
 *
 * **One task per worker.** The parent keeps the queue; it sends a worker its
 * next task only after the worker replied to the last one. So a worker that
 * dies loses exactly the task it held: that task completes as
 * #PROCREACT_TASK_CRASHED with the worker's exit details, the worker is
 * reaped and replaced, and no other task changes state.
 *
 * **Deadlines.** A task submitted with a deadline that is still running when
 * the deadline passes gets its worker stopped (the stop signal, the grace
 * period, then `SIGKILL`: procreact_pool_config_set_stop()); it completes as
 * #PROCREACT_TASK_TIMED_OUT and the worker is replaced.
 *
 * **Recycling and crash loops.** A worker can be retired after a number of
 * tasks or once its resident memory passes a limit; its replacement is
 * started before it leaves. Replacements that die before they finish a task
 * are started again after a delay that doubles each time; after a number of
 * such deaths in a row the pool fails: every queued and later task completes
 * as #PROCREACT_TASK_POOL_FAILED and procreact_pool_error() says why.
 *
 * **Main loops.** A pool has one descriptor (procreact_pool_fd()) that
 * becomes readable when procreact_pool_step() has work; completed tasks come
 * out in completion order from procreact_pool_next_done(). Simple programs
 * use procreact_task_wait() or procreact_pool_map() instead.
 *
 * **Threads.** Every function may be called from any thread; calls on one
 * pool are serialized by the pool (one thread steps at a time; a submit or a
 * cancel from another thread wakes a thread blocked in a step or a wait).
 *
 * **Ownership.** Configurations, pools and tasks are the caller's: free them
 * with procreact_pool_config_free(), procreact_pool_free() and
 * procreact_task_free(). A task stays valid, with its final status, after its
 * pool was freed.
 * @{
 */
#ifndef PROCREACT_POOL_H
#define PROCREACT_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procreact_channel.h"
#include "procreact_exit.h"
#include "procreact_spawn.h"
#include "procreact_util.h"

PROCREACT_BEGIN_DECLS

/** @brief A pool's settings, read when the pool is made: opaque. */
typedef struct ProcReact_PoolConfig ProcReact_PoolConfig;
/** @brief A pool of workers: opaque. */
typedef struct ProcReact_Pool ProcReact_Pool;
/** @brief One submitted task: opaque. */
typedef struct ProcReact_Task ProcReact_Task;

/** @brief Where a task is. */
typedef enum {
    PROCREACT_TASK_QUEUED = 0,     /**< waiting for a worker */
    PROCREACT_TASK_RUNNING = 1,    /**< sent to a worker, no reply yet */
    PROCREACT_TASK_DONE = 2,       /**< replied: procreact_task_reply() */
    PROCREACT_TASK_FAILED = 3,     /**< the worker function returned nonzero: procreact_task_error(); the reply, if any, is kept */
    PROCREACT_TASK_CRASHED = 4,    /**< its worker died while it ran: procreact_task_exit_info() */
    PROCREACT_TASK_TIMED_OUT = 5,  /**< its deadline passed and its worker was stopped: procreact_task_exit_info() */
    PROCREACT_TASK_CANCELLED = 6,  /**< cancelled, freed while queued, or dropped by a shutdown */
    PROCREACT_TASK_POOL_FAILED = 7 /**< the pool failed (crash loop) before the task ran: procreact_pool_error() */
} ProcReact_TaskStatus;

/**
 * @brief Runs once in each new forked worker before its first task.
 * @return 0 to go on; anything else ends the worker (with that value as
 *         its exit code, truncated to 1..255), which counts as a death
 *         before a task.
 */
typedef int (*ProcReact_WorkerInit)(void *data);

/**
 * @brief Runs one task in a forked worker.
 *
 * @p request is valid for the call. Set @p *reply to a buffer from malloc()
 * (the library frees it in the worker once sent) and @p *reply_size to its
 * size, or leave them NULL and 0 for an empty reply.
 * @return 0: the task is #PROCREACT_TASK_DONE; a positive value: it is
 *         #PROCREACT_TASK_FAILED with that value as procreact_task_error()
 *         (the reply, if set, is still delivered).
 */
typedef int (*ProcReact_TaskFunction)(void *data, const void *request, size_t request_size, void **reply,
                                      size_t *reply_size);

/** @brief Default number of workers: the number of online processors. */
#define PROCREACT_POOL_DEFAULT_WORKERS 0u
/** @brief Default deaths in a row, before any task finished, that fail the pool. */
#define PROCREACT_POOL_DEFAULT_CRASH_LIMIT 5u

/** @brief A configuration with the defaults (no worker kind yet), or NULL (ENOMEM). */
PROCREACT_API ProcReact_PoolConfig *procreact_pool_config_new(void) PROCREACT_NOEXCEPT;
/** @brief Frees a configuration (NULL is ignored); pools made from it are not affected. */
PROCREACT_API void procreact_pool_config_free(ProcReact_PoolConfig *config) PROCREACT_NOEXCEPT;

/**
 * @brief Forked C workers: each calls @p init once (may be NULL), then
 *        @p function for each task, with @p data.
 *
 * A forked worker is a fork() of the caller (or of the fork server) that
 * does not exec: it keeps, for its life, the descriptors that were open
 * when it was forked, close-on-exec ones too. A pipe's reader sees the end
 * only once every worker holding its write end has left: make the pool
 * (with the fork server, procreact_pool_config_set_fork_server()) before
 * such pipes where it matters.
 * @return 0, or -1 with errno `EINVAL` (@p function NULL).
 */
PROCREACT_API int procreact_pool_config_set_function(ProcReact_PoolConfig *config, ProcReact_WorkerInit init,
                                                     ProcReact_TaskFunction function, void *data) PROCREACT_NOEXCEPT;

/**
 * @brief Spawned worker programs: each worker is @p command (copied; its
 *        own channel setting is replaced by @p mode) and answers each
 *        request on its channel (#PROCREACT_CHANNEL_FD_ENV) with one reply.
 *        In #PROCREACT_CHANNEL_LINES mode a request and a reply are one
 *        line each.
 * @return 0, or -1 with errno `EINVAL` or `ENOMEM`.
 */
PROCREACT_API int procreact_pool_config_set_program(ProcReact_PoolConfig *config, const ProcReact_Command *command,
                                                    ProcReact_ChannelMode mode) PROCREACT_NOEXCEPT;

/** @brief The number of workers, at most 4096 (#PROCREACT_POOL_DEFAULT_WORKERS: one per online processor). @return 0, or -1 with errno `EINVAL`. */
PROCREACT_API int procreact_pool_config_set_workers(ProcReact_PoolConfig *config, unsigned int workers) PROCREACT_NOEXCEPT;

/**
 * @brief Retires a worker after @p max_tasks tasks (0: never) or once its
 *        resident memory, checked after each task, passes @p max_rss_bytes
 *        (0: never). The replacement is started before the worker leaves.
 *
 * A forked worker's resident memory includes the pages it still shares
 * with the process it was forked from: set the limit above that size.
 * @return 0, or -1 with errno `EINVAL`.
 */
PROCREACT_API int procreact_pool_config_set_recycle(ProcReact_PoolConfig *config, unsigned int max_tasks,
                                                    uint64_t max_rss_bytes) PROCREACT_NOEXCEPT;

/**
 * @brief How a worker is stopped (at a task's deadline, a cancel or a
 *        shutdown): @p signo (default `SIGTERM`), then `SIGKILL` after
 *        @p grace_seconds (default 1; 0 sends `SIGKILL` at once).
 * @return 0, or -1 with errno `EINVAL` (a signal outside 0..64, a negative grace).
 */
PROCREACT_API int procreact_pool_config_set_stop(ProcReact_PoolConfig *config, int signo,
                                                 double grace_seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Crash loops: after @p limit deaths in a row of workers that
 *        finished no task (default #PROCREACT_POOL_DEFAULT_CRASH_LIMIT) the
 *        pool fails. Between them the replacement waits @p first_delay_seconds
 *        (default 0.01), doubled after each such death up to 1 s (a first
 *        delay above 1 s is kept as it is: the delay never shrinks).
 * @return 0, or -1 with errno `EINVAL` (@p limit 0, a negative delay).
 */
PROCREACT_API int procreact_pool_config_set_crash_limit(ProcReact_PoolConfig *config, unsigned int limit,
                                                        double first_delay_seconds) PROCREACT_NOEXCEPT;

/**
 * @brief The largest request or reply (default
 *        #PROCREACT_CHANNEL_DEFAULT_MAX_MESSAGE): a larger request is
 *        refused at submit (`EMSGSIZE`), a larger reply crashes its task.
 * @return 0, or -1 with errno `EINVAL` (0).
 */
PROCREACT_API int procreact_pool_config_set_max_message(ProcReact_PoolConfig *config, uint64_t max_bytes) PROCREACT_NOEXCEPT;

/**
 * @brief Forked workers come from a small helper process forked when the
 *        pool is made (nonzero), so that a replacement does not copy a
 *        parent that grew since; default 0 (forked from the caller).
 *        Program workers are spawned as usual either way. The workers then
 *        see the caller's memory (the function's @p data included) as it
 *        was when the pool was made, not as it is when they start.
 *        The helper is single-threaded and starts each worker with a raw
 *        `clone(CLONE_PARENT)` (so that the worker is the caller's own
 *        child, watched and reaped as any other), not with `fork()`: the
 *        `pthread_atfork()` handlers do not run again in the worker (they
 *        ran once, in the helper), and the C library's record of the
 *        thread's id is the helper's, which matters only to robust or
 *        priority-inheriting mutexes taken in the worker.
 * @return 0, or -1 with errno `EINVAL`.
 */
PROCREACT_API int procreact_pool_config_set_fork_server(ProcReact_PoolConfig *config, int enabled) PROCREACT_NOEXCEPT;

/**
 * @brief A ready handshake for program workers (nonzero; default 0): each
 *        worker program must send one empty message (in
 *        #PROCREACT_CHANNEL_LINES mode an empty line) once it is ready, and
 *        gets no task before it. A worker that dies before it (a failing
 *        start-up) fails no task: it counts toward the crash limit
 *        (procreact_pool_config_set_crash_limit()) as a death before a task.
 *        A first message that is not empty is a broken handshake: the
 *        worker is stopped and counted so too. Forked C workers always do
 *        this handshake (after their init); the setting changes nothing
 *        for them.
 * @return 0, or -1 with errno `EINVAL`.
 */
PROCREACT_API int procreact_pool_config_set_ready_message(ProcReact_PoolConfig *config, int enabled) PROCREACT_NOEXCEPT;

/**
 * @brief Makes a pool and starts its workers.
 * @return the pool (the caller's), or NULL with errno `EINVAL` (no worker
 *         kind set), `ENOMEM`, or the error of the first worker's start.
 */
PROCREACT_API ProcReact_Pool *procreact_pool_new(const ProcReact_PoolConfig *config) PROCREACT_NOEXCEPT;

/**
 * @brief Stops the pool: no new task is taken. With @p drain nonzero the
 *        queued tasks still run; otherwise they complete as
 *        #PROCREACT_TASK_CANCELLED. Running tasks get until @p timeout_seconds
 *        (0: stop them now; negative: no bound); then their workers are
 *        stopped and those tasks complete as #PROCREACT_TASK_CANCELLED.
 *        Every worker is reaped before this returns.
 * @return 0 when every task finished on its own, else -1 with errno
 *         `ETIMEDOUT` (some were stopped, or a drain left tasks queued at
 *         its bound, which were cancelled) or `EINVAL`.
 */
PROCREACT_API int procreact_pool_shutdown(ProcReact_Pool *pool, int drain, double timeout_seconds) PROCREACT_NOEXCEPT;

/** @brief procreact_pool_shutdown() with no drain and no wait if not done yet, then frees the pool (NULL is ignored). */
PROCREACT_API void procreact_pool_free(ProcReact_Pool *pool) PROCREACT_NOEXCEPT;

/**
 * @brief Queues a task: a copy of @p request (@p size bytes). With
 *        @p deadline_seconds > 0, the task is stopped that long after it
 *        was sent to its worker.
 * @return the task (the caller's: procreact_task_free()), or NULL with errno
 *         `EINVAL`, `ENOMEM`, `EMSGSIZE` (bigger than a message may be),
 *         `ESHUTDOWN` (after a shutdown) or `EPIPE` (the pool failed).
 */
PROCREACT_API ProcReact_Task *procreact_pool_submit(ProcReact_Pool *pool, const void *request, size_t size,
                                                    double deadline_seconds) PROCREACT_NOEXCEPT;

/**
 * @brief Submits @p count requests, waits for all of them and sets
 *        @p tasks[i] to the task of @p requests[i] (each the caller's, each
 *        with its own status).
 * @return 0 once all completed, or -1 with errno (nothing is left queued:
 *         tasks already submitted are cancelled and freed).
 */
PROCREACT_API int procreact_pool_map(ProcReact_Pool *pool, const void *const *requests, const size_t *sizes,
                                     size_t count, double deadline_seconds, ProcReact_Task **tasks) PROCREACT_NOEXCEPT;

/** @brief The pool's descriptor for a main loop: readable when procreact_pool_step() has work (-1, errno `ENOMEM`, if it cannot be made). */
PROCREACT_API int procreact_pool_fd(ProcReact_Pool *pool) PROCREACT_NOEXCEPT;

/**
 * @brief Does the pool's pending work (replies, deaths, deadlines,
 *        replacements), waiting up to @p timeout_ms for some (0: never
 *        waits; negative: until a task completes, or only a look when no
 *        task is queued or running).
 * @return the number of tasks completed by this call, or -1 with errno.
 */
PROCREACT_API int procreact_pool_step(ProcReact_Pool *pool, int timeout_ms) PROCREACT_NOEXCEPT;

/**
 * @brief The next completed task not yet handed out here, in completion
 *        order (the pointer procreact_pool_submit() returned; still the
 *        caller's), or NULL with errno `EAGAIN`. Every task is handed out
 *        once, however it was waited for; a freed task never is.
 */
PROCREACT_API ProcReact_Task *procreact_pool_next_done(ProcReact_Pool *pool) PROCREACT_NOEXCEPT;

/**
 * @brief Why the pool failed: 0 while it works; else an errno value
 *        (`ECHILD`: its workers kept dying), with @p last (may be NULL)
 *        filled with the last death's exit details.
 */
PROCREACT_API int procreact_pool_error(const ProcReact_Pool *pool, ProcReact_ExitInfo *last) PROCREACT_NOEXCEPT;

/** @brief Counters of a pool's life. */
typedef struct {
    uint64_t workers_started;  /**< workers started, first ones included */
    uint64_t workers_crashed;  /**< workers that died on their own */
    uint64_t workers_stopped;  /**< workers stopped by a deadline, a cancel or a shutdown */
    uint64_t workers_recycled; /**< workers retired by procreact_pool_config_set_recycle() */
    uint64_t tasks_done;       /**< tasks that completed #PROCREACT_TASK_DONE or #PROCREACT_TASK_FAILED */
    unsigned int workers_alive; /**< workers running now */
    unsigned int tasks_queued;  /**< tasks waiting now */
    uint64_t reserved[4];       /**< zero */
} ProcReact_PoolStats;

/** @brief Fills @p stats. @return 0, or -1 with errno `EINVAL`. */
PROCREACT_API int procreact_pool_stats(const ProcReact_Pool *pool, ProcReact_PoolStats *stats) PROCREACT_NOEXCEPT;

/** @brief The task's status now. */
PROCREACT_API ProcReact_TaskStatus procreact_task_status(const ProcReact_Task *task) PROCREACT_NOEXCEPT;

/**
 * @brief Waits up to @p timeout_ms (negative: no bound) for the task to
 *        complete, driving its pool meanwhile.
 * @return 0 when it completed, or -1 with errno `ETIMEDOUT` or `EINVAL`.
 */
PROCREACT_API int procreact_task_wait(ProcReact_Task *task, int timeout_ms) PROCREACT_NOEXCEPT;

/**
 * @brief Cancels the task: a queued one is removed; a running one gets its
 *        worker stopped and replaced. Either completes as
 *        #PROCREACT_TASK_CANCELLED (a running one once its worker is reaped),
 *        also when its reply or its worker's death was already on the way:
 *        after a 0 here the task never completes otherwise.
 * @return 0, or -1 with errno `EALREADY` (it had completed) or `EINVAL`.
 */
PROCREACT_API int procreact_task_cancel(ProcReact_Task *task) PROCREACT_NOEXCEPT;

/**
 * @brief The reply of a #PROCREACT_TASK_DONE (or #PROCREACT_TASK_FAILED)
 *        task: valid until procreact_task_free() (NULL with size 0 when
 *        there is none).
 */
PROCREACT_API const void *procreact_task_reply(const ProcReact_Task *task, size_t *size) PROCREACT_NOEXCEPT;

/** @brief The value a worker function returned for a #PROCREACT_TASK_FAILED task, else 0. */
PROCREACT_API int procreact_task_error(const ProcReact_Task *task) PROCREACT_NOEXCEPT;

/**
 * @brief How the worker of a #PROCREACT_TASK_CRASHED or
 *        #PROCREACT_TASK_TIMED_OUT (or a cancelled running) task ended.
 *        `info->stderr_data` is always NULL.
 * @return 0, or -1 with errno `ENOENT` (no worker ended with this task).
 */
PROCREACT_API int procreact_task_exit_info(const ProcReact_Task *task, ProcReact_ExitInfo *info) PROCREACT_NOEXCEPT;

/** @brief The pid of the worker that ran (or runs) the task, or 0 when none did. */
PROCREACT_API pid_t procreact_task_worker_pid(const ProcReact_Task *task) PROCREACT_NOEXCEPT;

/**
 * @brief Frees the task (NULL is ignored). A queued task is removed first;
 *        a running one finishes in its worker and its reply is dropped.
 */
PROCREACT_API void procreact_task_free(ProcReact_Task *task) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

/** @} */

#endif /* PROCREACT_POOL_H */
