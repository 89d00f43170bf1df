/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h: submit, wait, step and next_done; failures, crashes and
 * deadlines; cancel and free; recycling; program workers; nothing left.
 */
#include "pool_test.h"

#include <procreact_channel.h>
#include <procreact_spawn.h>

/* A round trip: each task's reply, DONE, a worker pid of the pool's. */
static void test_submit_wait(void **state)
{
    ProcReact_Pool *pool = t_pool_new(2);
    ProcReact_Task *t;
    ProcReact_ExitInfo info;
    (void)state;
    t = t_submit(pool, "echo:hello", 0);
    assert_int_equal(procreact_task_wait(t, 5000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_DONE);
    assert_true(t_reply_is(t, "hello"));
    assert_true(procreact_task_worker_pid(t) > 0);
    assert_int_not_equal(procreact_task_worker_pid(t), getpid());
    assert_int_equal(procreact_task_error(t), 0);
    assert_int_equal(procreact_task_exit_info(t, &info), -1);
    assert_int_equal(errno, ENOENT);
    assert_ptr_equal(procreact_pool_next_done(pool), t);
    assert_null(procreact_pool_next_done(pool));
    assert_int_equal(errno, EAGAIN);
    procreact_task_free(t);
    procreact_pool_free(pool);
}

/* Many tasks through step and next_done: every one handed out once. */
static void test_step_next_done(void **state)
{
    enum { N = 200 };
    ProcReact_Pool *pool = t_pool_new(4);
    ProcReact_Task *tasks[N];
    int seen[N];
    int i, got = 0;
    char req[32];
    (void)state;
    memset(seen, 0, sizeof seen);
    for (i = 0; i < N; ++i) {
        snprintf(req, sizeof req, "echo:%d", i);
        tasks[i] = t_submit(pool, req, 0);
    }
    while (got < N) {
        ProcReact_Task *t;
        assert_true(procreact_pool_step(pool, 5000) >= 0);
        while ((t = procreact_pool_next_done(pool)) != NULL) {
            for (i = 0; i < N && tasks[i] != t; ++i)
                ;
            assert_true(i < N);
            assert_int_equal(seen[i], 0);
            seen[i] = 1;
            snprintf(req, sizeof req, "%d", i);
            assert_int_equal(procreact_task_status(t), PROCREACT_TASK_DONE);
            assert_true(t_reply_is(t, req));
            ++got;
        }
    }
    for (i = 0; i < N; ++i)
        procreact_task_free(tasks[i]);
    procreact_pool_free(pool);
}

/* A function's nonzero value: FAILED with it, the reply kept. */
static void test_failed_task(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *t = t_submit(pool, "fail:42", 0);
    (void)state;
    assert_int_equal(procreact_task_wait(t, 5000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_FAILED);
    assert_int_equal(procreact_task_error(t), 42);
    assert_true(t_reply_is(t, "failed"));
    procreact_task_free(t);
    procreact_pool_free(pool);
}

/* A crash loses exactly its task (CRASHED, with the signal); the worker is
 * replaced and the next task runs elsewhere. */
static void test_crash_replaced(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *a, *b, *c;
    ProcReact_ExitInfo info;
    ProcReact_PoolStats stats;
    (void)state;
    a = t_submit(pool, "pid", 0);
    b = t_submit(pool, "crash", 0);
    c = t_submit(pool, "pid", 0);
    assert_int_equal(procreact_task_wait(c, 5000), 0);
    assert_int_equal(procreact_task_status(a), PROCREACT_TASK_DONE);
    assert_int_equal(procreact_task_status(b), PROCREACT_TASK_CRASHED);
    assert_int_equal(procreact_task_status(c), PROCREACT_TASK_DONE);
    assert_int_equal(procreact_task_exit_info(b, &info), 0);
    assert_int_equal(info.signal, SIGSEGV);
    assert_int_equal(info.exited, 0);
    assert_int_equal(procreact_task_worker_pid(a), procreact_task_worker_pid(b));
    assert_int_not_equal(procreact_task_worker_pid(b), procreact_task_worker_pid(c));
    assert_int_equal(procreact_pool_stats(pool, &stats), 0);
    assert_int_equal(stats.workers_crashed, 1);
    assert_int_equal(stats.workers_started, 2);
    assert_int_equal(stats.tasks_done, 2);
    assert_int_equal(procreact_pool_error(pool, NULL), 0);
    procreact_task_free(a);
    procreact_task_free(b);
    procreact_task_free(c);
    procreact_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_submit_wait),
        T_TEST(test_step_next_done),
        T_TEST(test_failed_task),
        T_TEST(test_crash_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
