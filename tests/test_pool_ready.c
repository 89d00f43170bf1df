/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool_config_set_ready_message(): program workers that say when
 * they are ready get no task before, and a start-up death fails no task.
 */
#include "pool_test.h"

#include <procreact_spawn.h>

/* A program pool of one shell worker running @p script, in line mode, with
 * the ready message on or off and a crash limit of @p limit. */
static ProcReact_Pool *t_shell_pool(const char *script, int ready, unsigned limit)
{
    const char *const argv[] = {"/bin/sh", "-c", script, NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    assert_non_null(command);
    assert_non_null(config);
    assert_int_equal(procreact_pool_config_set_program(config, command, PROCREACT_CHANNEL_LINES), 0);
    procreact_command_free(command);
    assert_int_equal(procreact_pool_config_set_workers(config, 1), 0);
    assert_int_equal(procreact_pool_config_set_crash_limit(config, limit, 0.01), 0);
    assert_int_equal(procreact_pool_config_set_ready_message(config, ready), 0);
    return t_pool_make(config);
}

#define T_ECHO_LOOP                                                                                          \
    "while IFS= read -r line <&\"$PROCREACT_CHANNEL_FD\"; do\n"                                              \
    "  printf 'got:%s\\n' \"$line\" >&\"$PROCREACT_CHANNEL_FD\"\n"                                           \
    "done\n"

static void test_ready_bad_input(void **state)
{
    (void)state;
    assert_int_equal(procreact_pool_config_set_ready_message(NULL, 1), -1);
    assert_int_equal(errno, EINVAL);
}

/* A worker that says it is ready (an empty line) gets its tasks after it. */
static void test_ready_then_tasks(void **state)
{
    ProcReact_Pool *pool = t_shell_pool("sleep 0.2; echo >&\"$PROCREACT_CHANNEL_FD\"\n" T_ECHO_LOOP, 1, 5);
    ProcReact_Task *a = t_submit(pool, "one", 0), *b = t_submit(pool, "two", 0);
    (void)state;
    assert_int_equal(procreact_task_wait(b, 10000), 0);
    assert_int_equal(procreact_task_status(a), PROCREACT_TASK_DONE);
    assert_true(t_reply_is(a, "got:one")); /* the ready line is not taken for its reply */
    assert_true(t_reply_is(b, "got:two"));
    procreact_task_free(a);
    procreact_task_free(b);
    procreact_pool_free(pool);
}

/* No task goes to a worker that has not said it is ready. */
static void test_no_task_before_ready(void **state)
{
    ProcReact_Pool *pool = t_shell_pool(T_ECHO_LOOP, 1, 5);
    ProcReact_Task *t = t_submit(pool, "one", 0);
    (void)state;
    assert_int_equal(procreact_task_wait(t, 300), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_QUEUED);
    assert_int_equal(procreact_task_worker_pid(t), 0);
    procreact_pool_free(pool);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_CANCELLED);
    procreact_task_free(t);
}

/* Workers that die in their start-up: the pool fails after the crash limit,
 * with their exit code, and no task is reported as crashed for them. */
static void test_startup_deaths_fail_no_task(void **state)
{
    ProcReact_Pool *pool = t_shell_pool("exit 3", 1, 3);
    ProcReact_Task *tasks[5];
    ProcReact_ExitInfo last;
    ProcReact_PoolStats stats;
    size_t i;
    (void)state;
    for (i = 0; i < 5; ++i)
        tasks[i] = t_submit(pool, "x", 0);
    for (i = 0; i < 5; ++i) {
        assert_int_equal(procreact_task_wait(tasks[i], 10000), 0);
        assert_int_equal(procreact_task_status(tasks[i]), PROCREACT_TASK_POOL_FAILED);
        assert_int_equal(procreact_task_worker_pid(tasks[i]), 0);
        procreact_task_free(tasks[i]);
    }
    assert_int_equal(procreact_pool_error(pool, &last), ECHILD);
    assert_int_equal(last.exit_code, 3);
    assert_int_equal(procreact_pool_stats(pool, &stats), 0);
    assert_int_equal(stats.workers_crashed, 3);
    assert_int_equal(stats.tasks_done, 0);
    procreact_pool_free(pool);
}

/* A first message that is not empty breaks the handshake: the worker is
 * stopped, counted as a start-up death, and no task is sent to it. */
static void test_nonempty_ready_is_a_startup_death(void **state)
{
    ProcReact_Pool *pool = t_shell_pool("echo hello >&\"$PROCREACT_CHANNEL_FD\"\n" T_ECHO_LOOP, 1, 2);
    ProcReact_Task *t = t_submit(pool, "one", 0);
    (void)state;
    assert_int_equal(procreact_task_wait(t, 20000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_POOL_FAILED);
    assert_int_equal(procreact_pool_error(pool, NULL), ECHILD);
    procreact_task_free(t);
    procreact_pool_free(pool);
}

/* Off (the default), a program worker takes its first task at once. */
static void test_ready_off_by_default(void **state)
{
    ProcReact_Pool *pool = t_shell_pool(T_ECHO_LOOP, 0, 5);
    ProcReact_Task *t = t_submit(pool, "one", 0);
    (void)state;
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    assert_true(t_reply_is(t, "got:one"));
    procreact_task_free(t);
    procreact_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_ready_bad_input),
        T_TEST(test_ready_then_tasks),
        T_TEST(test_no_task_before_ready),
        T_TEST(test_startup_deaths_fail_no_task),
        T_TEST(test_nonempty_ready_is_a_startup_death),
        T_TEST(test_ready_off_by_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
