/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h's workers: recycling by task count and by resident
 * size, replies over the limit, program workers (Python on Connection, a
 * shell in line mode) and the fork server.
 */
#include "pool_test.h"

#include <procreact_channel.h>
#include <procreact_spawn.h>

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
    a = t_submit(pool, "sleep:100", 0);
    b = t_submit(pool, "crash", 0);
    assert_true(procreact_pool_step(pool, 50) >= 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_recycle_each_task),
        T_TEST(test_recycle_rss),
        T_TEST(test_reply_too_big),
        T_TEST(test_python_worker),
        T_TEST(test_shell_worker),
        T_TEST(test_fork_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
