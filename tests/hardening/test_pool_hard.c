/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h when resources run out: each allocation of making a
 * pool, of a submit and of the steps that run a task failing with ENOMEM in
 * turn (mallocfail.c), and fork() failing (forkfail.c). Each must end in a
 * clear error or a completed task, never a hang, a leaked descriptor or a
 * child left behind.
 */
#include "../pool_test.h"

#include "forkfail.h"
#include "mallocfail.h"

#include <pthread.h>

enum { T_MAX_STEPS = 2000 };

/* A reply too long for a short-string buffer: it allocates. */
#define T_LONG "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* procreact_pool_new() with allocation k failing, for every k. */
static void test_new_enomem(void **state)
{
    ProcReact_PoolConfig *config = t_pool_config(2);
    int k, failed = 0;
    (void)state;
    for (k = 0; k < T_MAX_STEPS; ++k) {
        const int fds = t_count_fds();
        ProcReact_Pool *pool;
        int fired, error;
        mallocfail_arm(k);
        pool = procreact_pool_new(config);
        error = errno;
        mallocfail_arm(-1);
        fired = mallocfail_fired();
        if (pool == NULL) {
            assert_true(fired);
            assert_int_equal(error, ENOMEM);
            ++failed;
        } else {
            ProcReact_Task *t = t_submit(pool, "echo:x", 0);
            assert_int_equal(procreact_task_wait(t, 10000), 0);
            assert_int_equal(procreact_task_status(t), PROCREACT_TASK_DONE);
            procreact_task_free(t);
            procreact_pool_free(pool);
        }
        assert_int_equal(t_count_fds(), fds);
        assert_true(t_no_children());
        if (!fired)
            break;
    }
    assert_true(k < T_MAX_STEPS);
    assert_true(failed > 0);
    print_message("# pool_new: %d allocations, %d failed calls\n", k, failed);
    procreact_pool_config_free(config);
}

/* A submit and the steps that run its task with allocation k failing, for
 * every k: the submit fails with ENOMEM, or the task completes (done, or
 * failed or crashed for want of memory) without a hang; the pool goes on. */
static void test_task_enomem(void **state)
{
    const int fds = t_count_fds();
    ProcReact_Pool *pool = t_pool_new(1);
    int k, refused = 0, spoiled = 0;
    (void)state;
    for (k = 0; k < T_MAX_STEPS; ++k) {
        ProcReact_Task *t;
        int rc, fired;
        mallocfail_arm(k);
        t = procreact_pool_submit(pool, "echo:" T_LONG, strlen("echo:" T_LONG), 0);
        if (t == NULL) {
            mallocfail_arm(-1);
            assert_int_equal(errno, ENOMEM);
            ++refused;
            continue;
        }
        rc = procreact_task_wait(t, 10000);
        mallocfail_arm(-1);
        fired = mallocfail_fired();
        if (rc != 0) /* the step itself failed: the next wait goes on */
            rc = procreact_task_wait(t, 10000);
        assert_int_equal(rc, 0);
        if (procreact_task_status(t) != PROCREACT_TASK_DONE || !t_reply_is(t, T_LONG)) {
            const ProcReact_TaskStatus st = procreact_task_status(t);
            assert_true(fired);
            assert_true(st == PROCREACT_TASK_FAILED || st == PROCREACT_TASK_CRASHED);
            if (st == PROCREACT_TASK_FAILED)
                assert_int_equal(procreact_task_error(t), ENOMEM);
            ++spoiled;
        }
        procreact_task_free(t);
        /* The pool still works. */
        t = t_submit(pool, "echo:ok", 0);
        assert_int_equal(procreact_task_wait(t, 10000), 0);
        assert_true(t_reply_is(t, "ok"));
        procreact_task_free(t);
        if (!fired)
            break;
    }
    assert_true(k < T_MAX_STEPS);
    assert_int_equal(procreact_pool_error(pool, NULL), 0);
    procreact_pool_free(pool);
    assert_int_equal(t_count_fds(), fds);
    assert_true(t_no_children());
    print_message("# task: %d allocations, %d refused submits, %d spoiled tasks\n", k, refused, spoiled);
}

/* fork() failing: no pool when the first worker cannot start; a pool whose
 * replacements cannot start fails (after the crash limit) instead of
 * spinning, with the fork's error; nothing is left either way. */
static void test_fork_fails(void **state)
{
    const int fds = t_count_fds();
    ProcReact_PoolConfig *config = t_pool_config(1);
    ProcReact_Pool *pool;
    ProcReact_Task *t;
    double start;
    (void)state;
    assert_int_equal(procreact_pool_config_set_crash_limit(config, 3, 0.01), 0);
    forkfail_arm(0, 1000);
    pool = procreact_pool_new(config);
    assert_null(pool);
    assert_int_equal(errno, EAGAIN);
    forkfail_arm(0, 0);
    assert_int_equal(t_count_fds(), fds);

    pool = procreact_pool_new(config);
    assert_non_null(pool);
    forkfail_arm(0, 1000);
    start = t_now();
    t = t_submit(pool, "crash", 0); /* its worker cannot be replaced */
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_CRASHED);
    procreact_task_free(t);
    t = t_submit(pool, "echo:x", 0);
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_POOL_FAILED);
    assert_int_equal(procreact_pool_error(pool, NULL), EAGAIN);
    assert_true(t_now() - start < 5.0);
    forkfail_arm(0, 0);
    procreact_task_free(t);
    procreact_pool_free(pool);
    procreact_pool_config_free(config);
    assert_int_equal(t_count_fds(), fds);
    assert_true(t_no_children());
}

typedef struct {
    ProcReact_Pool *pool;
    double longest; /* the longest procreact_pool_stats() call while a fork ran */
    int seen;       /* calls made while a fork ran */
    int stop;
} Prober;

static void *t_probe(void *arg)
{
    Prober *p = (Prober *)arg;
    double give_up = t_now() + 10.0;
    while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE) && t_now() < give_up) {
        ProcReact_PoolStats stats;
        double start;
        if (forkfail_in_fork() == 0) {
            t_sleep_ms(1);
            continue;
        }
        start = t_now();
        procreact_pool_stats(p->pool, &stats);
        if (t_now() - start > p->longest)
            p->longest = t_now() - start;
        ++p->seen;
        t_sleep_ms(10);
    }
    return NULL;
}

/* A worker's start forks without the pool's lock: while a slow fork (of a
 * large parent, here made slow on purpose) starts a replacement, another
 * thread's calls on the pool do not wait for it. */
static void test_fork_outside_lock(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *t;
    Prober prober = {pool, 0, 0, 0};
    pthread_t thread;
    (void)state;
    t = t_submit(pool, "echo:warm", 0);
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    procreact_task_free(t);
    assert_int_equal(pthread_create(&thread, NULL, t_probe, &prober), 0);
    forkfail_delay(400);
    t = t_submit(pool, "crash", 0); /* its replacement is forked slowly */
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    procreact_task_free(t);
    t = t_submit(pool, "echo:after", 0);
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    assert_true(t_reply_is(t, "after"));
    procreact_task_free(t);
    __atomic_store_n(&prober.stop, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    forkfail_delay(0);
    print_message("# %d calls during forks, the longest %.3f s\n", prober.seen, prober.longest);
    assert_true(prober.seen > 0);
    assert_true(prober.longest < 0.1);
    procreact_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_new_enomem),
        T_TEST(test_task_enomem),
        T_TEST(test_fork_fails),
        T_TEST(test_fork_outside_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
