/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h under stress: workers SIGKILLed at random while tasks
 * run, crash-looping workers, shutdown with a stuck task, and submits and
 * waits from other threads.
 */
#include "pool_test.h"

#include <pthread.h>
#include <sys/resource.h>

/* ------------------------------------------------------------ crash chaos */

#define T_MAX_KILLS 1000

typedef struct {
    int kills_wanted;
    long interval_us;
    int kills;
    pid_t killed[T_MAX_KILLS];
} Killer;

static void *t_killer(void *arg)
{
    Killer *k = (Killer *)arg;
    unsigned seed = 12345;
    while (k->kills < k->kills_wanted) {
        pid_t pids[256];
        int n;
        t_sleep_ms(0);
        usleep((useconds_t)k->interval_us);
        n = t_children(pids, 256);
        if (n == 0)
            continue;
        k->killed[k->kills] = pids[rand_r(&seed) % (unsigned)n];
        if (kill(k->killed[k->kills], SIGKILL) == 0)
            __atomic_store_n(&k->kills, k->kills + 1, __ATOMIC_RELEASE); /* read by the submitting thread */
    }
    return NULL;
}

static int t_was_killed(const Killer *k, pid_t pid)
{
    int i;
    for (i = 0; i < k->kills; ++i)
        if (k->killed[i] == pid)
            return 1;
    return 0;
}

/* @p total tasks on 8 workers while another thread SIGKILLs a random
 * worker @p kills times: exactly tasks of killed workers fail (CRASHED,
 * signal 9, at most one per kill), all others are DONE with their reply;
 * nothing is left at free. */
static void t_chaos(int total, int kills)
{
    enum { WINDOW = 64 };
    ProcReact_PoolConfig *config = NULL;
    ProcReact_Pool *pool;
    ProcReact_Task *window[WINDOW];
    int index[WINDOW];
    Killer killer;
    pthread_t thread;
    int fds_before = t_count_fds();
    int submitted = 0, finished = 0, crashed = 0, i;
    pid_t *crashed_pids = (pid_t *)calloc((size_t)total, sizeof(pid_t));
    char req[32], want[32];
    assert_non_null(crashed_pids);
    memset(&killer, 0, sizeof killer);
    killer.kills_wanted = kills;
    /* The kills are spread over the run: task i is submitted only once
     * i * kills / total kills happened. */
    killer.interval_us = 100;
    config = t_pool_config(8);
    assert_int_equal(procreact_pool_config_set_crash_limit(config, 1000, 0.001), 0);
    pool = t_pool_make(config);
    assert_int_equal(pthread_create(&thread, NULL, t_killer, &killer), 0);
    for (i = 0; i < WINDOW; ++i)
        window[i] = NULL;
    while (finished < total) {
        for (i = 0; i < WINDOW; ++i) {
            if (window[i] == NULL && submitted < total &&
                (long long)submitted * kills <= (long long)__atomic_load_n(&killer.kills, __ATOMIC_ACQUIRE) * total) {
                snprintf(req, sizeof req, "echo:%d", submitted);
                index[i] = submitted++;
                window[i] = t_submit(pool, req, 0);
            }
        }
        assert_true(procreact_pool_step(pool, 10) >= 0);
        for (i = 0; i < WINDOW; ++i) {
            ProcReact_TaskStatus st;
            if (window[i] == NULL)
                continue;
            st = procreact_task_status(window[i]);
            if (st == PROCREACT_TASK_QUEUED || st == PROCREACT_TASK_RUNNING)
                continue;
            if (st == PROCREACT_TASK_DONE) {
                snprintf(want, sizeof want, "%d", index[i]);
                assert_true(t_reply_is(window[i], want));
            } else {
                ProcReact_ExitInfo info;
                assert_int_equal(st, PROCREACT_TASK_CRASHED);
                assert_int_equal(procreact_task_exit_info(window[i], &info), 0);
                assert_int_equal(info.signal, SIGKILL);
                crashed_pids[crashed++] = procreact_task_worker_pid(window[i]);
            }
            while (procreact_pool_next_done(pool) != NULL)
                ;
            procreact_task_free(window[i]);
            window[i] = NULL;
            ++finished;
        }
    }
    pthread_join(thread, NULL); /* done once all its kills are */
    /* Every crashed task ran on a killed worker, one task per worker. */
    for (i = 0; i < crashed; ++i) {
        int j;
        assert_true(t_was_killed(&killer, crashed_pids[i]));
        for (j = 0; j < i; ++j)
            assert_int_not_equal(crashed_pids[i], crashed_pids[j]);
    }
    assert_true(crashed <= killer.kills);
    assert_int_equal(killer.kills, kills);
    assert_int_equal(procreact_pool_error(pool, NULL), 0);
    procreact_pool_free(pool);
    assert_int_equal(t_count_fds(), fds_before);
    assert_true(t_no_children());
    print_message("# chaos: %d tasks, %d kills, %d tasks crashed\n", total, killer.kills, crashed);
    free(crashed_pids);
}

static void test_chaos(void **state)
{
    (void)state;
    if (getenv("PROCREACT_POOL_CHAOS_FULL") != NULL)
        t_chaos(100000, 1000);
    else if (t_under_valgrind())
        t_chaos(1000, 20);
    else
        t_chaos(20000, 300);
}

/* ------------------------------------------------------------ crash loops */

static int t_init_fails(void *data)
{
    (void)data;
    return 3;
}

/* Workers whose init fails: the pool fails within about 2 s (back-off
 * 10, 20, 40, 80 ms), with ECHILD and the last exit code, queued tasks
 * POOL_FAILED, and the parent spends little CPU meanwhile. */
static void test_crash_loop(void **state)
{
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    ProcReact_Pool *pool;
    ProcReact_Task *t;
    ProcReact_ExitInfo last;
    ProcReact_PoolStats stats;
    double start, cpu_start, took, cpu;
    (void)state;
    assert_int_equal(procreact_pool_config_set_function(config, t_init_fails, t_pool_function, NULL), 0);
    assert_int_equal(procreact_pool_config_set_workers(config, 2), 0);
    start = t_now();
    cpu_start = t_cpu();
    pool = t_pool_make(config);
    t = t_submit(pool, "echo:never", 0);
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    took = t_now() - start;
    cpu = t_cpu() - cpu_start;
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_POOL_FAILED);
    assert_int_equal(procreact_pool_error(pool, &last), ECHILD);
    assert_int_equal(last.exited, 1);
    if (!t_under_valgrind())
        assert_int_equal(last.exit_code, 3);
    assert_true(took < (t_under_valgrind() ? 20.0 : 2.0));
    assert_true(cpu < (t_under_valgrind() ? 10.0 : 0.3));
    assert_null(procreact_pool_submit(pool, "x", 1, 0));
    assert_int_equal(errno, EPIPE);
    assert_int_equal(procreact_pool_stats(pool, &stats), 0);
    assert_true(stats.workers_crashed >= PROCREACT_POOL_DEFAULT_CRASH_LIMIT);
    print_message("# crash loop: failed after %.3f s, parent CPU %.3f s, %llu workers started\n", took, cpu,
                  (unsigned long long)stats.workers_started);
    procreact_task_free(t);
    procreact_pool_free(pool);
}

/* ---------------------------------------------------------------- shutdown */

/* A graceful shutdown with a stuck task returns within its bound (0.3 s,
 * then the grace of 0.1 s): the stuck task CANCELLED, the others DONE. */
static void test_shutdown_stuck(void **state)
{
    ProcReact_PoolConfig *config = NULL;
    ProcReact_Pool *pool;
    ProcReact_Task *stuck, *quick[4];
    double start, took;
    int i;
    (void)state;
    config = t_pool_config(2);
    assert_int_equal(procreact_pool_config_set_stop(config, SIGTERM, 0.1), 0);
    pool = t_pool_make(config);
    stuck = t_submit(pool, "hang", 0);
    for (i = 0; i < 4; ++i)
        quick[i] = t_submit(pool, "sleep:10", 0);
    start = t_now();
    assert_int_equal(procreact_pool_shutdown(pool, 1, 0.3), -1);
    assert_int_equal(errno, ETIMEDOUT);
    took = t_now() - start;
    assert_true(took >= 0.3);
    assert_true(took < (t_under_valgrind() ? 5.0 : 1.5)); /* generous: a shared machine */
    assert_int_equal(procreact_task_status(stuck), PROCREACT_TASK_CANCELLED);
    for (i = 0; i < 4; ++i) {
        assert_int_equal(procreact_task_status(quick[i]), PROCREACT_TASK_DONE);
        procreact_task_free(quick[i]);
    }
    assert_true(t_no_children());
    procreact_task_free(stuck);
    procreact_pool_free(pool);
}

/* An immediate shutdown cancels the queue; a drained one runs it. */
static void test_shutdown_modes(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *a = t_submit(pool, "sleep:30", 0), *b = t_submit(pool, "echo:b", 0);
    (void)state;
    assert_int_equal(procreact_pool_shutdown(pool, 1, -1), 0);
    assert_int_equal(procreact_task_status(a), PROCREACT_TASK_DONE);
    assert_int_equal(procreact_task_status(b), PROCREACT_TASK_DONE);
    procreact_task_free(a);
    procreact_task_free(b);
    procreact_pool_free(pool);

    pool = t_pool_new(1);
    a = t_submit(pool, "sleep:30", 0);
    b = t_submit(pool, "echo:b", 0);
    while (procreact_task_status(a) == PROCREACT_TASK_QUEUED) { /* the worker says it is ready */
        assert_true(procreact_pool_step(pool, 0) >= 0);
        t_sleep_ms(1);
    }
    assert_int_equal(procreact_pool_shutdown(pool, 0, 5), 0);
    assert_int_equal(procreact_task_status(a), PROCREACT_TASK_DONE);
    assert_int_equal(procreact_task_status(b), PROCREACT_TASK_CANCELLED);
    procreact_task_free(a);
    procreact_task_free(b);
    procreact_pool_free(pool);
}

/* ----------------------------------------------------------------- threads */

typedef struct {
    ProcReact_Pool *pool;
    ProcReact_Task *task;
} Submitter;

static void *t_submit_later(void *arg)
{
    Submitter *s = (Submitter *)arg;
    t_sleep_ms(50);
    __atomic_store_n(&s->task, procreact_pool_submit(s->pool, "echo:late", 9, 0), __ATOMIC_RELEASE);
    return NULL;
}

/* A submit from another thread wakes a thread blocked in a step. */
static void test_submit_from_thread(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *hold = t_submit(pool, "sleep:3000", 0);
    Submitter s = {pool, NULL};
    pthread_t thread;
    double start;
    int n = 0;
    (void)state;
    start = t_now();
    assert_int_equal(pthread_create(&thread, NULL, t_submit_later, &s), 0);
    /* The one worker is busy: the late task waits in the queue, and the
     * step must see it queued (the submit woke it) rather than sleep on. */
    while (__atomic_load_n(&s.task, __ATOMIC_ACQUIRE) == NULL && t_now() - start < 2.0)
        n += procreact_pool_step(pool, 100);
    pthread_join(thread, NULL);
    assert_non_null(s.task);
    assert_true(t_now() - start < 1.0);
    assert_int_equal(procreact_task_status(s.task), PROCREACT_TASK_QUEUED);
    assert_int_equal(procreact_task_cancel(hold), 0);
    assert_int_equal(procreact_task_wait(s.task, 5000), 0);
    assert_true(t_reply_is(s.task, "late"));
    assert_int_equal(n, 0);
    procreact_task_free(hold);
    procreact_task_free(s.task);
    procreact_pool_free(pool);
}

/* Several threads waiting on tasks of one pool at once. */
static void test_waits_from_threads(void **state)
{
    enum { N = 4, EACH = 50 };
    ProcReact_Pool *pool = t_pool_new(2);
    TWaiter waiters[N * EACH];
    pthread_t threads[N * EACH];
    char req[32];
    int i;
    (void)state;
    for (i = 0; i < N * EACH; ++i) {
        snprintf(req, sizeof req, "echo:%d", i);
        waiters[i].task = t_submit(pool, req, 0);
        waiters[i].timeout_ms = 10000;
        waiters[i].rc = -2;
        assert_int_equal(pthread_create(&threads[i], NULL, t_waiter_run, &waiters[i]), 0);
    }
    for (i = 0; i < N * EACH; ++i) {
        pthread_join(threads[i], NULL);
        assert_int_equal(waiters[i].rc, 0);
        snprintf(req, sizeof req, "%d", i);
        assert_true(t_reply_is(waiters[i].task, req));
        procreact_task_free(waiters[i].task);
    }
    procreact_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_chaos),
        T_TEST(test_crash_loop),
        T_TEST(test_shutdown_stuck),
        T_TEST(test_shutdown_modes),
        T_TEST(test_submit_from_thread),
        T_TEST(test_waits_from_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
