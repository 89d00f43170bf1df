/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h's timers: the crash-loop back-off between replacements
 * (doubling, never shrinking) and a draining shutdown's bound when tasks
 * still wait for a replacement.
 */
#include "pool_test.h"

static int t_init_dies(void *data)
{
    (void)data;
    return 4;
}

/* The times at which workers were started, until the pool failed. */
static int t_start_times(ProcReact_Pool *pool, double *times, int max)
{
    ProcReact_PoolStats stats;
    uint64_t seen = 0;
    int n = 0;
    double give_up = t_now() + 30.0;
    while (procreact_pool_error(pool, NULL) == 0 && t_now() < give_up) {
        assert_true(procreact_pool_step(pool, 2) >= 0);
        assert_int_equal(procreact_pool_stats(pool, &stats), 0);
        while (seen < stats.workers_started && n < max) {
            times[n++] = t_now();
            ++seen;
        }
    }
    return n;
}

static ProcReact_Pool *t_dying_pool(unsigned limit, double first_delay)
{
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    assert_non_null(config);
    assert_int_equal(procreact_pool_config_set_function(config, t_init_dies, t_pool_function, NULL), 0);
    assert_int_equal(procreact_pool_config_set_workers(config, 1), 0);
    assert_int_equal(procreact_pool_config_set_crash_limit(config, limit, first_delay), 0);
    return t_pool_make(config);
}

/* Replacements of workers that die at start wait 0.1, 0.2, 0.4 s. */
static void test_backoff_doubles(void **state)
{
    ProcReact_Pool *pool = t_dying_pool(4, 0.1);
    double times[8];
    int n, i;
    (void)state;
    times[0] = t_now(); /* the first worker started with the pool */
    n = 1 + t_start_times(pool, times + 1, 7);
    /* The first start was counted by the first look: drop its duplicate. */
    for (i = 1; i + 1 < n; ++i)
        times[i] = times[i + 1];
    --n;
    assert_int_equal(n, 4);
    for (i = 1; i < n; ++i) {
        const double want = 0.1 * (double)(1 << (i - 1)), gap = times[i] - times[i - 1];
        print_message("# start %d: %.3f s after the last (want %.1f)\n", i, gap, want);
        assert_true(gap >= want - 0.01);
        if (!t_under_valgrind())
            assert_true(gap < want + 0.3);
    }
    assert_int_equal(procreact_pool_error(pool, NULL), ECHILD);
    procreact_pool_free(pool);
}

/* A first delay above 1 s is not cut to 1 s by the doubling: the back-off
 * never shrinks. */
static void test_backoff_never_shrinks(void **state)
{
    ProcReact_Pool *pool = t_dying_pool(3, 1.2);
    double times[8];
    int n;
    (void)state;
    n = t_start_times(pool, times, 8);
    assert_int_equal(n, 3); /* the first (seen at once), then two replacements */
    print_message("# gaps: %.3f s, %.3f s\n", times[1] - times[0], times[2] - times[1]);
    assert_true(times[1] - times[0] >= 1.15);
    assert_true(times[2] - times[1] >= 1.15);
    procreact_pool_free(pool);
}

/* A draining shutdown whose bound passes while tasks still wait (here for
 * the replacement of a crashed worker, 2 s away) cancels them and says
 * ETIMEDOUT: they did not finish on their own. */
static void test_drain_bound_with_queue(void **state)
{
    ProcReact_PoolConfig *config = t_pool_config(1);
    ProcReact_Pool *pool;
    ProcReact_Task *crash, *waiting;
    double start;
    (void)state;
    assert_int_equal(procreact_pool_config_set_crash_limit(config, 100, 2.0), 0);
    pool = t_pool_make(config);
    crash = t_submit(pool, "crash", 0);
    assert_int_equal(procreact_task_wait(crash, 10000), 0);
    assert_int_equal(procreact_task_status(crash), PROCREACT_TASK_CRASHED);
    waiting = t_submit(pool, "echo:x", 0);
    start = t_now();
    assert_int_equal(procreact_pool_shutdown(pool, 1, 0.2), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(t_now() - start < 1.5);
    assert_int_equal(procreact_task_status(waiting), PROCREACT_TASK_CANCELLED);
    procreact_task_free(crash);
    procreact_task_free(waiting);
    procreact_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_backoff_doubles),
        T_TEST(test_backoff_never_shrinks),
        T_TEST(test_drain_bound_with_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
