/* SPDX-License-Identifier: MIT */
/*
 * bench-pool: the worker pool (procreact_pool.h), in one run:
 *
 *   - an empty task on 8 forked workers against fork-per-task (one future
 *     per item, procreact_initialize_future() + procreact_future_get()),
 *     alternating rounds, per-task medians and the paired ratio
 *     (targets: <= 20 us a task, >= 10x cheaper than a fork per task);
 *   - replacement latency: a one-worker pool whose task kills its worker,
 *     then a ping: the time from the crashed task's completion (the death
 *     seen) to the ping's reply, an upper bound of "replacement ready"
 *     (target: median <= 5 ms);
 *   - the hung-task timeline: 8 workers, a task that ignores SIGTERM with a
 *     100 ms deadline and 100 ms grace among short tasks: when it completes
 *     past deadline + grace (target: <= 10 ms), and the short tasks' total
 *     time with it against rounds without it (target: within noise).
 *
 * Usage: bench-pool [--rounds N] [--json FILE]
 * BENCH_ITERATIONS sets the pool's tasks per round (default 20000; the
 * fork-per-task side runs a tenth of them).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <signal.h>

#include <procreact_future.h>
#include <procreact_pool.h>
#include <procreact_types.h>

static long g_tasks = 20000;
enum { kWorkers = 8, kReplacements = 100, kShort = 2000 };

/* Requests: empty (an empty reply), "x" (the worker exits), "h" (ignores
 * SIGTERM and sleeps), "s" (about 200 us of work). */
static int bench_task(void *data, const void *request, size_t size, void **reply, size_t *reply_size)
{
    (void)data;
    (void)reply;
    (void)reply_size;
    if (size == 1 && *(const char *)request == 'x')
        _exit(3);
    if (size == 1 && *(const char *)request == 'h') {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        for (;;)
            pause();
    }
    if (size == 1 && *(const char *)request == 's') {
        const double end = bench_wall_now() + 200e-6;
        while (bench_wall_now() < end)
            ;
    }
    return 0;
}

static ProcReact_Pool *make_pool(unsigned workers, double grace)
{
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    ProcReact_Pool *pool;
    if (config == NULL)
        return NULL;
    procreact_pool_config_set_function(config, NULL, bench_task, NULL);
    procreact_pool_config_set_workers(config, workers);
    procreact_pool_config_set_stop(config, SIGTERM, grace);
    procreact_pool_config_set_crash_limit(config, 1000000, 0.01);
    pool = procreact_pool_new(config);
    procreact_pool_config_free(config);
    return pool;
}

/* ------------------------------------------------- empty tasks vs forks */

static ProcReact_Task **g_tasks_buf;

static int pool_round(void *ctx)
{
    ProcReact_Pool *pool = (ProcReact_Pool *)ctx;
    int ok = 1;
    for (long i = 0; i < g_tasks; ++i)
        if ((g_tasks_buf[i] = procreact_pool_submit(pool, "", 0, 0)) == NULL)
            return -1;
    for (long i = 0; i < g_tasks; ++i) {
        ok &= procreact_task_wait(g_tasks_buf[i], -1) == 0 && procreact_task_status(g_tasks_buf[i]) == PROCREACT_TASK_DONE;
        procreact_task_free(g_tasks_buf[i]);
    }
    return ok ? 0 : -1;
}

static int fork_round(void *ctx)
{
    (void)ctx;
    for (long i = 0; i < g_tasks / 10; ++i) {
        ProcReact_Status status;
        ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
        if (f.pid < 0)
            return -1;
        if (f.pid == 0)
            _exit(0);
        free(procreact_future_get(&f, &status));
        if (status != PROCREACT_STATUS_OK)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------- replacements */

static int replacement_latency(double *median_s)
{
    double lat[kReplacements];
    ProcReact_Pool *pool = make_pool(1, 1.0);
    if (pool == NULL)
        return -1;
    for (int i = 0; i < kReplacements; ++i) {
        ProcReact_Task *crash = procreact_pool_submit(pool, "x", 1, 0);
        double seen;
        if (crash == NULL || procreact_task_wait(crash, -1) != 0 ||
            procreact_task_status(crash) != PROCREACT_TASK_CRASHED)
            return -1;
        seen = bench_wall_now();
        ProcReact_Task *ping = procreact_pool_submit(pool, "", 0, 0);
        if (ping == NULL || procreact_task_wait(ping, -1) != 0 || procreact_task_status(ping) != PROCREACT_TASK_DONE)
            return -1;
        lat[i] = bench_wall_now() - seen;
        procreact_task_free(crash);
        procreact_task_free(ping);
    }
    procreact_pool_free(pool);
    /* bench_median() sorts a copy of at most BENCH_MAX_ROUNDS: sort here. */
    qsort(lat, kReplacements, sizeof lat[0], bench_cmp_double);
    *median_s = lat[kReplacements / 2];
    return 0;
}

/* ----------------------------------------------------- the hung task */

typedef struct {
    ProcReact_Pool *pool;
    int with_hung;
} HungCtx;

static const double kDeadline = 0.1, kGrace = 0.1;

static int hung_round(void *arg)
{
    HungCtx *c = (HungCtx *)arg;
    ProcReact_Task *hung = NULL, *tasks[kShort];
    if (c->with_hung && (hung = procreact_pool_submit(c->pool, "h", 1, kDeadline)) == NULL)
        return -1;
    for (int i = 0; i < kShort; ++i)
        if ((tasks[i] = procreact_pool_submit(c->pool, "s", 1, 0)) == NULL)
            return -1;
    for (int i = 0; i < kShort; ++i) {
        if (procreact_task_wait(tasks[i], -1) != 0 || procreact_task_status(tasks[i]) != PROCREACT_TASK_DONE)
            return -1;
        procreact_task_free(tasks[i]);
    }
    if (hung != NULL) {
        /* Timed only to its completion: the short tasks were waited for first. */
        while (procreact_task_status(hung) == PROCREACT_TASK_RUNNING)
            if (procreact_pool_step(c->pool, -1) < 0)
                return -1;
        if (procreact_task_status(hung) != PROCREACT_TASK_TIMED_OUT)
            return -1;
        procreact_task_free(hung);
    }
    return 0;
}

/* The hung task alone, timed from submit to completion (the pool idle). */
static int hung_timeline(ProcReact_Pool *pool, double *over)
{
    double over_s[9];
    for (int i = 0; i < 9; ++i) {
        const double t0 = bench_wall_now();
        ProcReact_Task *hung = procreact_pool_submit(pool, "h", 1, kDeadline);
        if (hung == NULL || procreact_task_wait(hung, -1) != 0 ||
            procreact_task_status(hung) != PROCREACT_TASK_TIMED_OUT)
            return -1;
        over_s[i] = bench_wall_now() - t0 - kDeadline - kGrace;
        procreact_task_free(hung);
    }
    *over = bench_median(over_s, 9);
    return 0;
}

int main(int argc, char **argv)
{
    long rounds = 7;
    const char *json = NULL;
    if (bench_rounds_json_args(argc, argv, &rounds, &json) != 0)
        return 2;
    g_tasks = bench_env_long("BENCH_ITERATIONS", g_tasks);
    g_tasks_buf = calloc((size_t)g_tasks, sizeof *g_tasks_buf);
    ProcReact_Pool *pool = make_pool(kWorkers, kGrace);
    if (g_tasks_buf == NULL || pool == NULL)
        return 1;

    BenchPair empty;
    if (bench_alternate("empty task", (int)rounds, pool_round, pool, fork_round, NULL, &empty) != 0)
        return 1;
    double pool_per[BENCH_MAX_ROUNDS], fork_per[BENCH_MAX_ROUNDS];
    for (int i = 0; i < empty.rounds; ++i) {
        pool_per[i] = empty.ours_wall[i] / (double)g_tasks;
        fork_per[i] = empty.base_wall[i] / (double)(g_tasks / 10);
    }
    const double pool_task = bench_median(pool_per, empty.rounds);
    const double fork_task = bench_median(fork_per, empty.rounds);
    const double empty_ratio = bench_paired_ratio(fork_per, pool_per, empty.rounds);

    double replace = 0;
    if (replacement_latency(&replace) != 0)
        return 1;

    HungCtx with = {pool, 1}, without = {pool, 0};
    BenchPair hung;
    if (bench_alternate("hung task", (int)rounds, hung_round, &with, hung_round, &without, &hung) != 0)
        return 1;
    const double others_with = bench_median(hung.ours_wall, hung.rounds);
    const double others_without = bench_median(hung.base_wall, hung.rounds);
    double over = 0;
    if (hung_timeline(pool, &over) != 0)
        return 1;
    procreact_pool_free(pool);

    bench_table_header();
    bench_table_row("empty task, 8 workers vs fork per task", pool_task, fork_task, 1e6, "us", "<= 20 us, >= 10x",
                    pool_task <= 20e-6 && empty_ratio >= 10 ? "ok" : "MISS");
    bench_table_row("replacement ready after a death", replace, 5e-3, 1e3, "ms", "<= 5 ms (median)",
                    replace <= 5e-3 ? "ok" : "MISS");
    bench_table_row("hung task past deadline + grace", over, 10e-3, 1e3, "ms", "<= 10 ms", over <= 10e-3 ? "ok" : "MISS");
    bench_table_row("2000 short tasks, with vs without", others_with, others_without, 1e3, "ms", "within noise", "");
    printf("fork per task / pool task (paired): %.1fx\n", empty_ratio);
    if (json != NULL) {
        FILE *out = fopen(json, "w");
        if (out == NULL) {
            perror(json);
            return 1;
        }
        fprintf(out,
                "{\"benchmark\":\"pool\",\"rounds\":%ld,\"tasks_per_round\":%ld,\"workers\":%d,"
                "\"empty_task_s\":%.9f,\"fork_per_task_s\":%.9f,\"fork_over_pool_paired\":%.3f,"
                "\"replacement_ready_median_s\":%.9f,\"hung_past_deadline_grace_s\":%.6f,"
                "\"deadline_s\":%.3f,\"grace_s\":%.3f,\"short_tasks_with_hung_s\":%.6f,"
                "\"short_tasks_without_s\":%.6f}\n",
                rounds, g_tasks, kWorkers, pool_task, fork_task, empty_ratio, replace, over, kDeadline, kGrace,
                others_with, others_without);
        fclose(out);
    }
    free(g_tasks_buf);
    return 0;
}
