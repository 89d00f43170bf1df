/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h's workers: recycling by task count and by resident
 * size, replies over the limit, program workers (Python on Connection, a
 * shell in line mode), the fork server, the signal mask and the init.
 */
#include "pool_test.h"

#include <procreact_channel.h>
#include <procreact_spawn.h>

#include <pthread.h>

/* Recycling after 1 task: a fresh pid for every task. */
static void test_recycle_each_task(void **state)
{
    enum { N = 20 };
    ProcReact_PoolConfig *config = NULL;
    ProcReact_Pool *pool;
    ProcReact_PoolStats stats;
    pid_t pids[N];
    int i, j;
    (void)state;
    config = t_pool_config(2);
    assert_int_equal(procreact_pool_config_set_recycle(config, 1, 0), 0);
    pool = t_pool_make(config);
    for (i = 0; i < N; ++i) {
        ProcReact_Task *t = t_submit(pool, "pid", 0);
        assert_int_equal(procreact_task_wait(t, 5000), 0);
        assert_int_equal(procreact_task_status(t), PROCREACT_TASK_DONE);
        pids[i] = procreact_task_worker_pid(t);
        for (j = 0; j < i; ++j)
            assert_int_not_equal(pids[i], pids[j]);
        procreact_task_free(t);
    }
    assert_int_equal(procreact_pool_stats(pool, &stats), 0);
    assert_int_equal(stats.workers_recycled, N);
    assert_int_equal(stats.workers_crashed, 0);
    procreact_pool_free(pool);
}

/* An RSS limit retires a worker that grows 10 MiB per task. */
static void test_recycle_rss(void **state)
{
    enum { N = 12 };
    ProcReact_PoolConfig *config = NULL;
    ProcReact_Pool *pool;
    ProcReact_PoolStats stats;
    pid_t last = 0;
    int i, run = 0, longest = 0;
    (void)state;
    config = t_pool_config(1);
    assert_int_equal(procreact_pool_config_set_recycle(config, 0, 48u << 20), 0);
    pool = t_pool_make(config);
    for (i = 0; i < N; ++i) {
        ProcReact_Task *t = t_submit(pool, "grow:10", 0);
        assert_int_equal(procreact_task_wait(t, 10000), 0);
        assert_int_equal(procreact_task_status(t), PROCREACT_TASK_DONE);
        run = procreact_task_worker_pid(t) == last ? run + 1 : 1;
        longest = run > longest ? run : longest;
        last = procreact_task_worker_pid(t);
        procreact_task_free(t);
    }
    assert_int_equal(procreact_pool_stats(pool, &stats), 0);
    assert_true(stats.workers_recycled >= 2);
    assert_true(longest <= 5); /* 48 MiB: at most 5 tasks of 10 MiB each */
    procreact_pool_free(pool);
}

/* A reply over the pool's maximum message size crashes its task. */
static void test_reply_too_big(void **state)
{
    ProcReact_ExitInfo info;
    ProcReact_PoolConfig *config = NULL;
    ProcReact_Pool *pool;
    ProcReact_Task *t, *u;
    (void)state;
    config = t_pool_config(1);
    assert_int_equal(procreact_pool_config_set_max_message(config, 32), 0);
    pool = t_pool_make(config);
    assert_null(procreact_pool_submit(pool, "echo:0123456789012345678901234567890123456789", 45, 0));
    assert_int_equal(errno, EMSGSIZE);
    t = t_submit(pool, "big:29", 0); /* 29 bytes + 4 of status */
    u = t_submit(pool, "echo:ok", 0);
    assert_int_equal(procreact_task_wait(t, 5000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_CRASHED);
    assert_int_equal(procreact_task_exit_info(t, &info), 0);
    assert_int_equal(info.signal, SIGTERM); /* stopped: it could not be read */
    assert_int_equal(info.flags, 0);        /* neither timed out nor cancelled */
    assert_int_equal(procreact_task_wait(u, 5000), 0);
    assert_true(t_reply_is(u, "ok"));
    procreact_task_free(t);
    procreact_task_free(u);
    procreact_pool_free(pool);
}

/* A Python worker speaking multiprocessing.connection.Connection. */
static void test_python_worker(void **state)
{
    const char *const argv[] = {
        "/usr/bin/python3", "-c",
        "import os\n"
        "from multiprocessing.connection import Connection\n"
        "c = Connection(int(os.environ['PROCREACT_CHANNEL_FD']))\n"
        "while True:\n"
        "    try:\n"
        "        m = c.recv_bytes()\n"
        "    except EOFError:\n"
        "        break\n"
        "    c.send_bytes(m.upper())\n",
        NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    ProcReact_Pool *pool;
    ProcReact_Task *tasks[10];
    ProcReact_PoolStats stats;
    int i;
    (void)state;
    assert_int_equal(procreact_pool_config_set_program(config, command, PROCREACT_CHANNEL_FRAMED), 0);
    procreact_command_free(command);
    assert_int_equal(procreact_pool_config_set_workers(config, 2), 0);
    pool = t_pool_make(config);
    for (i = 0; i < 10; ++i)
        tasks[i] = t_submit(pool, "hello", 0);
    for (i = 0; i < 10; ++i) {
        assert_int_equal(procreact_task_wait(tasks[i], 20000), 0);
        assert_int_equal(procreact_task_status(tasks[i]), PROCREACT_TASK_DONE);
        assert_true(t_reply_is(tasks[i], "HELLO"));
        procreact_task_free(tasks[i]);
    }
    assert_int_equal(procreact_pool_shutdown(pool, 1, 10), 0);
    assert_int_equal(procreact_pool_stats(pool, &stats), 0);
    assert_int_equal(stats.workers_crashed, 0);
    assert_int_equal(stats.workers_alive, 0);
    procreact_pool_free(pool);
}

/* A POSIX shell worker in line mode; a newline inside a request is refused. */
static void test_shell_worker(void **state)
{
    const char *const argv[] = {
        "/bin/sh", "-c",
        "while IFS= read -r line <&\"$PROCREACT_CHANNEL_FD\"; do\n"
        "  printf 'got:%s\\n' \"$line\" >&\"$PROCREACT_CHANNEL_FD\"\n"
        "done\n",
        NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    ProcReact_Pool *pool;
    ProcReact_Task *a, *b;
    (void)state;
    assert_int_equal(procreact_pool_config_set_program(config, command, PROCREACT_CHANNEL_LINES), 0);
    procreact_command_free(command);
    assert_int_equal(procreact_pool_config_set_workers(config, 1), 0);
    pool = t_pool_make(config);
    assert_null(procreact_pool_submit(pool, "a\nb", 3, 0));
    assert_int_equal(errno, EINVAL);
    a = t_submit(pool, "one", 0);
    b = t_submit(pool, "two words", 0);
    assert_int_equal(procreact_task_wait(b, 10000), 0);
    assert_true(t_reply_is(a, "got:one"));
    assert_true(t_reply_is(b, "got:two words"));
    procreact_task_free(a);
    procreact_task_free(b);
    procreact_pool_free(pool);
}

/* ------------------------------------------------------------- fork server */

static int t_parent_of(pid_t pid)
{
    char path[64];
    FILE *f;
    int ppid = -1;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1)
        ppid = -1;
    fclose(f);
    return ppid;
}

/* Workers from the fork server are children of the pool's process (their
 * pid, exit details, crash and replacement as usual); nothing is left. */
static void test_fork_server(void **state)
{
    ProcReact_PoolConfig *config = NULL;
    ProcReact_Pool *pool;
    ProcReact_Task *a, *b, *c;
    ProcReact_ExitInfo info;
    int fds_before = t_count_fds();
    (void)state;
    config = t_pool_config(2);
    assert_int_equal(procreact_pool_config_set_fork_server(config, 1), 0);
    pool = t_pool_make(config);
    a = t_submit(pool, "sleep:300", 0);
    b = t_submit(pool, "crash", 0);
    {
        const double start = t_now();
        while (procreact_task_status(a) == PROCREACT_TASK_QUEUED && t_now() - start < 10.0)
            assert_true(procreact_pool_step(pool, 10) >= 0);
    }
    assert_int_equal(procreact_task_status(a), PROCREACT_TASK_RUNNING);
    assert_int_equal(t_parent_of(procreact_task_worker_pid(a)), getpid());
    assert_int_equal(procreact_task_wait(b, 5000), 0);
    assert_int_equal(procreact_task_status(b), PROCREACT_TASK_CRASHED);
    assert_int_equal(procreact_task_exit_info(b, &info), 0);
    assert_int_equal(info.signal, SIGSEGV);
    c = t_submit(pool, "pid", 0);
    assert_int_equal(procreact_task_wait(c, 5000), 0);
    assert_int_equal(procreact_task_status(c), PROCREACT_TASK_DONE);
    assert_int_equal(procreact_task_wait(a, 5000), 0);
    assert_true(t_reply_is(a, "slept"));
    procreact_pool_free(pool);
    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), fds_before);
    procreact_task_free(a);
    procreact_task_free(b);
    procreact_task_free(c);
}

/* The fork server killed: the next worker comes from a new one. */
/* The fork server of a one-worker pool whose worker is @p worker: our
 * children are the server and the worker, the server is the other one. */
static pid_t t_fork_server_pid(pid_t worker)
{
    char path[64];
    FILE *f;
    long server = 0, pid;
    snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
    f = fopen(path, "re");
    assert_non_null(f);
    while (fscanf(f, "%ld", &pid) == 1)
        if (pid != worker)
            server = pid;
    fclose(f);
    assert_true(server > 0);
    return (pid_t)server;
}

static void test_fork_server_killed(void **state)
{
    ProcReact_PoolConfig *config = t_pool_config(1);
    ProcReact_Pool *pool;
    ProcReact_Task *a, *b, *c;
    pid_t server;
    (void)state;
    assert_int_equal(procreact_pool_config_set_fork_server(config, 1), 0);
    pool = t_pool_make(config);
    a = t_submit(pool, "pid", 0);
    assert_int_equal(procreact_task_wait(a, 5000), 0);
    server = t_fork_server_pid(procreact_task_worker_pid(a));
    assert_int_equal(kill(server, SIGKILL), 0);
    b = t_submit(pool, "crash", 0); /* the worker goes: a replacement is needed */
    assert_int_equal(procreact_task_wait(b, 5000), 0);
    assert_int_equal(procreact_task_status(b), PROCREACT_TASK_CRASHED);
    c = t_submit(pool, "pid", 0);
    assert_int_equal(procreact_task_wait(c, 5000), 0);
    assert_int_equal(procreact_task_status(c), PROCREACT_TASK_DONE);
    assert_int_equal(t_parent_of(procreact_task_worker_pid(c)), getpid());
    assert_int_equal(procreact_pool_error(pool, NULL), 0);
    procreact_task_free(a);
    procreact_task_free(b);
    procreact_task_free(c);
    procreact_pool_free(pool);
    assert_true(t_no_children());
}

typedef struct {
    ProcReact_Pool *pool;
    ProcReact_Task *task;
    int done;
} Closer;

static void *t_shutdown_pool(void *arg)
{
    Closer *c = (Closer *)arg;
    procreact_pool_shutdown(c->pool, 0, 0);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *t_read_status(void *arg)
{
    Closer *c = (Closer *)arg;
    (void)procreact_task_status(c->task);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A shutdown waiting for a slow fork server to leave (here: stopped) does
 * so without the pool's lock: the pool's tasks can be looked at meanwhile. */
static void test_fork_server_reaped_unlocked(void **state)
{
    ProcReact_PoolConfig *config = t_pool_config(1);
    ProcReact_Pool *pool;
    Closer closer = {NULL, NULL, 0}, reader = {NULL, NULL, 0};
    pthread_t closing, reading;
    pid_t server;
    double start;
    int quick;
    (void)state;
    assert_int_equal(procreact_pool_config_set_fork_server(config, 1), 0);
    pool = t_pool_make(config);
    reader.task = t_submit(pool, "pid", 0);
    assert_int_equal(procreact_task_wait(reader.task, 5000), 0);
    server = t_fork_server_pid(procreact_task_worker_pid(reader.task));
    assert_int_equal(kill(server, SIGSTOP), 0);
    closer.pool = pool;
    assert_int_equal(pthread_create(&closing, NULL, t_shutdown_pool, &closer), 0);
    t_sleep_ms(300); /* the worker is gone; the shutdown waits for the server */
    assert_int_equal(__atomic_load_n(&closer.done, __ATOMIC_ACQUIRE), 0);
    assert_int_equal(pthread_create(&reading, NULL, t_read_status, &reader), 0);
    start = t_now();
    while (!__atomic_load_n(&reader.done, __ATOMIC_ACQUIRE) && t_now() - start < 1.0)
        t_sleep_ms(5);
    quick = __atomic_load_n(&reader.done, __ATOMIC_ACQUIRE);
    assert_int_equal(kill(server, SIGCONT), 0); /* either way, so that nothing stays stuck */
    pthread_join(closing, NULL);
    pthread_join(reading, NULL);
    assert_true(quick);
    procreact_task_free(reader.task);
    procreact_pool_free(pool);
    assert_true(t_no_children());
}

/* A parent thread that blocks SIGTERM (a signalfd main loop does) does not
 * hand that mask to its workers: the stop signal still ends them. */
static void test_worker_signal_mask(void **state)
{
    ProcReact_PoolConfig *config = t_pool_config(1);
    ProcReact_Pool *pool;
    ProcReact_Task *t;
    ProcReact_ExitInfo info;
    sigset_t term, old;
    (void)state;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
    assert_int_equal(procreact_pool_config_set_stop(config, SIGTERM, 2.0), 0);
    pool = t_pool_make(config);
    t = t_submit(pool, "hang", 0.05);
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_TIMED_OUT);
    assert_int_equal(procreact_task_exit_info(t, &info), 0);
    assert_int_equal(info.signal, SIGTERM); /* not SIGKILL after the 2 s grace */
    procreact_task_free(t);
    procreact_pool_free(pool);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_recycle_each_task),
        T_TEST(test_recycle_rss),
        T_TEST(test_reply_too_big),
        T_TEST(test_python_worker),
        T_TEST(test_shell_worker),
        T_TEST(test_fork_server),
        T_TEST(test_fork_server_killed),
        T_TEST(test_fork_server_reaped_unlocked),
        T_TEST(test_worker_signal_mask),
        T_TEST(test_worker_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
