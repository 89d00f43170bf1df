/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h's tasks: submit, wait, step and next_done; failures,
 * crashes and deadlines; the init; cancel and free; bad input; the
 * descriptor and map; nothing left at free.
 */
#include "pool_test.h"

#include <procreact_channel.h>
#include <procreact_spawn.h>

#include <poll.h>

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


/* A hung task with a 100 ms deadline among 1,000 short ones: it alone is
 * TIMED_OUT (its worker got SIGTERM), within its deadline and the grace. */
static void test_deadline_among_short(void **state)
{
    enum { N = 1000 };
    ProcReact_PoolConfig *config = NULL;
    ProcReact_Pool *pool;
    ProcReact_Task *hung, *tasks[N];
    ProcReact_ExitInfo info;
    double start, took;
    int i;
    (void)state;
    config = t_pool_config(4);
    assert_int_equal(procreact_pool_config_set_stop(config, SIGTERM, 0.2), 0);
    pool = t_pool_make(config);
    start = t_now();
    hung = t_submit(pool, "hang", 0.1);
    for (i = 0; i < N; ++i)
        tasks[i] = t_submit(pool, "echo:x", 0);
    assert_int_equal(procreact_task_wait(hung, 10000), 0);
    took = t_now() - start;
    assert_int_equal(procreact_task_status(hung), PROCREACT_TASK_TIMED_OUT);
    assert_int_equal(procreact_task_exit_info(hung, &info), 0);
    assert_int_equal(info.signal, SIGTERM);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_true(took >= 0.1);
    assert_true(took < (t_under_valgrind() ? 5.0 : 0.6));
    for (i = 0; i < N; ++i) {
        assert_int_equal(procreact_task_wait(tasks[i], 10000), 0);
        assert_int_equal(procreact_task_status(tasks[i]), PROCREACT_TASK_DONE);
        procreact_task_free(tasks[i]);
    }
    procreact_task_free(hung);
    procreact_pool_free(pool);
}

/* A worker that blocks SIGTERM is killed once the grace has passed: the
 * task is TIMED_OUT with SIGKILL, after deadline + grace. */
static void test_deadline_grace_kill(void **state)
{
    ProcReact_PoolConfig *config = t_pool_config(1);
    ProcReact_Pool *pool;
    ProcReact_Task *t;
    ProcReact_ExitInfo info;
    double start, took;
    (void)state;
    assert_int_equal(procreact_pool_config_set_stop(config, SIGTERM, 0.15), 0);
    pool = t_pool_make(config);
    start = t_now();
    t = t_submit(pool, "deaf", 0.05);
    assert_int_equal(procreact_task_wait(t, 5000), 0);
    took = t_now() - start;
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_TIMED_OUT);
    assert_int_equal(procreact_task_exit_info(t, &info), 0);
    assert_int_equal(info.signal, SIGKILL);
    assert_true(took >= 0.2);
    assert_true(took < (t_under_valgrind() ? 5.0 : 0.6));
    procreact_task_free(t);
    procreact_pool_free(pool);
}

/* The init runs once in each worker, before its first task. */
static void test_worker_init(void **state)
{
    static int marker;
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    ProcReact_Pool *pool;
    ProcReact_Task *t;
    (void)state;
    assert_int_equal(procreact_pool_config_set_function(config, t_pool_init, t_pool_function, &marker), 0);
    assert_int_equal(procreact_pool_config_set_workers(config, 1), 0);
    pool = t_pool_make(config);
    t = t_submit(pool, "init", 0);
    assert_int_equal(procreact_task_wait(t, 5000), 0);
    assert_true(t_reply_is(t, "2")); /* once, with its data */
    procreact_task_free(t);
    t = t_submit(pool, "init", 0);
    assert_int_equal(procreact_task_wait(t, 5000), 0);
    assert_true(t_reply_is(t, "2")); /* not again for the next task */
    procreact_task_free(t);
    assert_int_equal(t_pool_inited, 0); /* never in the parent */
    procreact_pool_free(pool);
}

/* Cancel: a queued task leaves at once; a running one's worker is
 * stopped (CANCELLED with its exit details) and replaced. */
static void test_cancel(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *running, *queued, *after;
    ProcReact_ExitInfo info;
    (void)state;
    running = t_submit(pool, "hang", 0);
    queued = t_submit(pool, "echo:q", 0);
    after = t_submit(pool, "echo:after", 0);
    assert_int_equal(procreact_pool_step(pool, 100), 0);
    assert_int_equal(procreact_task_status(running), PROCREACT_TASK_RUNNING);
    assert_int_equal(procreact_task_cancel(queued), 0);
    assert_int_equal(procreact_task_status(queued), PROCREACT_TASK_CANCELLED);
    assert_int_equal(procreact_task_exit_info(queued, &info), -1);
    assert_int_equal(procreact_task_cancel(queued), -1);
    assert_int_equal(errno, EALREADY);
    assert_int_equal(procreact_task_cancel(running), 0);
    assert_int_equal(procreact_task_wait(running, 5000), 0);
    assert_int_equal(procreact_task_status(running), PROCREACT_TASK_CANCELLED);
    assert_int_equal(procreact_task_exit_info(running, &info), 0);
    assert_int_equal(info.signal, SIGTERM);
    assert_int_equal(procreact_task_wait(after, 5000), 0);
    assert_true(t_reply_is(after, "after"));
    assert_int_not_equal(procreact_task_worker_pid(after), procreact_task_worker_pid(running));
    procreact_task_free(running);
    procreact_task_free(queued);
    procreact_task_free(after);
    procreact_pool_free(pool);
}

/* Freeing tasks (queued, running) and then the pool with tasks
 * outstanding: the rest complete CANCELLED and stay readable. */
static void test_free_outstanding(void **state)
{
    ProcReact_Pool *pool = t_pool_new(2);
    ProcReact_Task *a, *b, *c, *d, *e;
    (void)state;
    a = t_submit(pool, "hang", 0);
    b = t_submit(pool, "sleep:50", 0);
    c = t_submit(pool, "echo:c", 0);
    d = t_submit(pool, "echo:d", 0);
    e = t_submit(pool, "hang", 0);
    procreact_task_free(a); /* running: its reply would be dropped */
    procreact_task_free(c); /* queued: removed */
    assert_int_equal(procreact_task_wait(d, 5000), 0);
    assert_true(t_reply_is(d, "d"));
    assert_int_equal(procreact_task_wait(b, 5000), 0);
    procreact_pool_free(pool);
    assert_int_equal(procreact_task_status(b), PROCREACT_TASK_DONE);
    assert_int_equal(procreact_task_status(e), PROCREACT_TASK_CANCELLED);
    assert_int_equal(procreact_task_wait(e, 0), 0);
    assert_null(procreact_task_reply(e, NULL));
    procreact_task_free(b);
    procreact_task_free(d);
    procreact_task_free(e);
}

/* Bad arguments, and submits after a shutdown. */
static void test_bad_input(void **state)
{
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    ProcReact_Pool *pool;
    (void)state;
    assert_null(procreact_pool_new(config));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_pool_config_set_function(config, NULL, NULL, NULL), -1);
    assert_int_equal(procreact_pool_config_set_stop(config, -1, 1), -1);
    assert_int_equal(procreact_pool_config_set_crash_limit(config, 0, 1), -1);
    assert_int_equal(procreact_pool_config_set_max_message(config, 0), -1);
    procreact_pool_config_free(config);
    assert_null(procreact_pool_new(NULL));
    {
        const char *const argv[] = {"/nonexistent/worker", NULL};
        ProcReact_Command *command = procreact_command_new(argv);
        config = procreact_pool_config_new();
        assert_int_equal(procreact_pool_config_set_program(config, command, PROCREACT_CHANNEL_FRAMED), 0);
        procreact_command_free(command);
        assert_null(procreact_pool_new(config)); /* the first worker's start fails */
        assert_int_equal(errno, ENOENT);
        procreact_pool_config_free(config);
    }
    pool = t_pool_new(1);
    assert_null(procreact_pool_submit(pool, NULL, 3, 0));
    assert_int_equal(errno, EINVAL);
    assert_null(procreact_pool_submit(pool, "x", 1, -1));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_pool_shutdown(pool, 1, 5), 0);
    assert_null(procreact_pool_submit(pool, "x", 1, 0));
    assert_int_equal(errno, ESHUTDOWN);
    assert_int_equal(procreact_pool_step(pool, -1), 0); /* nothing outstanding: no hang */
    procreact_pool_free(pool);
    procreact_pool_free(NULL);
    procreact_task_free(NULL);
}

/* The pool's descriptor in a poll() loop, with procreact_pool_map(). */
static void test_fd_and_map(void **state)
{
    ProcReact_Pool *pool = t_pool_new(2);
    ProcReact_Task *t, *tasks[3];
    const void *reqs[3] = {"echo:a", "echo:bb", "fail:7"};
    const size_t sizes[3] = {6, 7, 6};
    struct pollfd p;
    int fd, done = 0;
    (void)state;
    fd = procreact_pool_fd(pool);
    assert_true(fd >= 0);
    t = t_submit(pool, "sleep:20", 0);
    while (!done) {
        p.fd = fd;
        p.events = POLLIN;
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_true(procreact_pool_step(pool, 0) >= 0);
        done = procreact_pool_next_done(pool) == t;
    }
    assert_true(t_reply_is(t, "slept"));
    procreact_task_free(t);
    assert_int_equal(procreact_pool_map(pool, reqs, sizes, 3, 0, tasks), 0);
    assert_true(t_reply_is(tasks[0], "a"));
    assert_true(t_reply_is(tasks[1], "bb"));
    assert_int_equal(procreact_task_status(tasks[2]), PROCREACT_TASK_FAILED);
    assert_int_equal(procreact_task_error(tasks[2]), 7);
    procreact_task_free(tasks[0]);
    procreact_task_free(tasks[1]);
    procreact_task_free(tasks[2]);
    procreact_pool_free(pool);
}

/* No descriptor and no child left once the pool and its tasks are freed. */
static void test_nothing_left(void **state)
{
    int before = t_count_fds();
    ProcReact_Pool *pool = t_pool_new(3);
    ProcReact_Task *a = t_submit(pool, "echo:x", 0), *b = t_submit(pool, "hang", 0);
    (void)state;
    assert_int_equal(procreact_task_wait(a, 5000), 0);
    assert_true(procreact_pool_fd(pool) >= 0);
    procreact_pool_free(pool);
    assert_int_equal(t_count_fds(), before);
    assert_true(t_no_children());
    procreact_task_free(a);
    procreact_task_free(b);
    assert_int_equal(t_count_fds(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_submit_wait),
        T_TEST(test_step_next_done),
        T_TEST(test_failed_task),
        T_TEST(test_crash_replaced),
        T_TEST(test_deadline_among_short),
        T_TEST(test_deadline_grace_kill),
        T_TEST(test_worker_init),
        T_TEST(test_cancel),
        T_TEST(test_free_outstanding),
        T_TEST(test_bad_input),
        T_TEST(test_fd_and_map),
        T_TEST(test_nothing_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
