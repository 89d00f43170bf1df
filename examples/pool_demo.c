/* SPDX-License-Identifier: MIT */
/*
 * procreact-pool-demo: a worker pool that survives its workers.
 *
 * Four forked workers run 40 tasks (each sums the squares up to a number
 * and replies with the sum as text). Among them, one task crashes its
 * worker (SIGSEGV) and one hangs past its 200 ms deadline: those two alone
 * fail, with how their workers ended, the workers are replaced, and every
 * other task gets its reply. Then a graceful shutdown, and the pool's
 * counters.
 *
 * Usage: procreact-pool-demo
 * Exits 0 when everything came out as described, 1 otherwise. Under a second.
 */
#define _POSIX_C_SOURCE 200809L
#include <procreact_pool.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kTasks = 40, kCrash = 13, kHang = 27 };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs in a worker: the request is a number as text ("crash" and "hang"
 * misbehave on purpose); the reply is the sum of squares up to it. */
static int sum_squares(void *data, const void *request, size_t size, void **reply, size_t *reply_size)
{
    char text[32];
    (void)data;
    if (size == 5 && memcmp(request, "crash", 5) == 0) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (size == 4 && memcmp(request, "hang", 4) == 0)
        for (;;)
            pause();
    if (size >= sizeof text)
        return 1; /* FAILED, with 1 as its error */
    memcpy(text, request, size);
    text[size] = '\0';
    const unsigned long long n = strtoull(text, NULL, 10);
    unsigned long long sum = 0;
    for (unsigned long long i = 1; i <= n; ++i)
        sum += i * i;
    char *out = malloc(32);
    if (out == NULL)
        return 2;
    *reply_size = (size_t)snprintf(out, 32, "%llu", sum);
    *reply = out; /* freed by the library, in the worker, once sent */
    return 0;
}

static const char *status_name(ProcReact_TaskStatus status)
{
    static const char *const names[] = {"queued", "running",   "done",      "failed",
                                        "crashed", "timed out", "cancelled", "pool failed"};
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

int main(void)
{
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    if (config == NULL || procreact_pool_config_set_function(config, NULL, sum_squares, NULL) != 0 ||
        procreact_pool_config_set_workers(config, 4) != 0 || procreact_pool_config_set_stop(config, SIGTERM, 0.1) != 0)
        return 1;
    ProcReact_Pool *pool = procreact_pool_new(config);
    procreact_pool_config_free(config);
    if (pool == NULL) {
        perror("procreact_pool_new");
        return 1;
    }

    const double t0 = now_seconds();
    ProcReact_Task *tasks[kTasks];
    for (int i = 0; i < kTasks; ++i) {
        char request[32];
        const char *r = request;
        double deadline = 0;
        if (i == kCrash)
            r = "crash";
        else if (i == kHang) {
            r = "hang";
            deadline = 0.2;
        } else
            snprintf(request, sizeof request, "%d", 1000 * (i + 1));
        tasks[i] = procreact_pool_submit(pool, r, strlen(r), deadline);
        if (tasks[i] == NULL) {
            perror("procreact_pool_submit");
            return 1;
        }
    }

    /* Completion order, through the pool's step and next_done. */
    int done = 0, good = 0, bad = 0;
    while (done < kTasks) {
        if (procreact_pool_step(pool, -1) < 0) {
            perror("procreact_pool_step");
            return 1;
        }
        ProcReact_Task *t;
        while ((t = procreact_pool_next_done(pool)) != NULL) {
            ++done;
            const ProcReact_TaskStatus status = procreact_task_status(t);
            if (status == PROCREACT_TASK_DONE) {
                ++good;
                continue;
            }
            ProcReact_ExitInfo info;
            ++bad;
            if (procreact_task_exit_info(t, &info) == 0)
                printf("  a task %s after %.0f ms: its worker (pid %ld) ended by signal %d; it was replaced\n",
                       status_name(status), (now_seconds() - t0) * 1e3, (long)procreact_task_worker_pid(t),
                       info.signal);
            else
                printf("  a task %s\n", status_name(status));
        }
    }
    size_t size = 0;
    const char *last = procreact_task_reply(tasks[kTasks - 1], &size);
    printf("  %d tasks done, %d failed, in %.0f ms; the last reply: %.*s\n", good, bad, (now_seconds() - t0) * 1e3,
           (int)size, last != NULL ? last : "");

    const int shut = procreact_pool_shutdown(pool, 1, 5.0);
    ProcReact_PoolStats stats;
    procreact_pool_stats(pool, &stats);
    printf("  shutdown: %s; workers started %llu, crashed %llu, stopped %llu\n", shut == 0 ? "clean" : "forced",
           (unsigned long long)stats.workers_started, (unsigned long long)stats.workers_crashed,
           (unsigned long long)stats.workers_stopped);
    const int ok = good == kTasks - 2 && bad == 2 && procreact_task_status(tasks[kCrash]) == PROCREACT_TASK_CRASHED &&
                   procreact_task_status(tasks[kHang]) == PROCREACT_TASK_TIMED_OUT && shut == 0;
    for (int i = 0; i < kTasks; ++i)
        procreact_task_free(tasks[i]);
    procreact_pool_free(pool);
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
