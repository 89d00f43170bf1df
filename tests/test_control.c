/* SPDX-License-Identifier: MIT */
/*
 * procreact_control.h for one future: deadlines, the stop sequence (the
 * grace, then SIGKILL, to the process group or not), output limits, the
 * output type, cancellation (also from another thread), a deadline on a
 * forked future, and bad input. The same for the collections:
 * test_control_future_iterator.c and test_control_pid_iterator.c.
 */
#include "control_test.h"

#include <math.h>
#include <pthread.h>

#include <procreact_exit.h>

static void free_bytes(void *result)
{
    if (result != NULL) {
        free(((ProcReact_BytesState *)result)->data);
        free(result);
    }
}

/* Whether @p pid stops running within @p ms: it is gone, or a zombie that
 * init has not reaped yet. */
static int gone_within(pid_t pid, long ms)
{
    double until = t_now() + (double)ms / 1000.0;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    while (t_now() < until) {
        FILE *f = fopen(path, "r");
        int running = 0;
        if (f == NULL)
            return 1;
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "State:", 6) == 0)
                running = strchr(line, 'Z') == NULL && strchr(line, 'X') == NULL;
        fclose(f);
        if (!running)
            return 1;
        t_sleep_ms(10);
    }
    return 0;
}

/* ------------------------------------------------------------ one future */

static void test_timeout_stops_a_hung_program(void **state)
{
    ProcReact_Future future = spawn_sh("echo started; exec sleep 100", 0, procreact_create_string_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    double start = t_now(), took;
    char *out;
    (void)state;
    assert_int_equal(procreact_future_set_timeout(&future, 0.2), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    took = t_now() - start;
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_int_equal(info.signal, SIGTERM);
    assert_true(took >= 0.19);
    assert_true(took < 5.0);
    /* What arrived before the stop is kept, even for the string type. */
    assert_non_null(out);
    assert_string_equal(out, "started\n");
    free(out);
    free(info.stderr_data);
}

static void test_grace_then_kill(void **state)
{
    ProcReact_Future future = spawn_sh("trap '' TERM; echo ready; while :; do sleep 0.05; done", 1,
                                       procreact_create_output_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    ProcReact_BytesState *out;
    double start = t_now(), took;
    (void)state;
    assert_int_equal(procreact_future_set_stop(&future, SIGTERM, 0.3), 0);
    assert_int_equal(procreact_future_set_timeout(&future, 0.1), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    took = t_now() - start;
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_int_equal(info.signal, SIGKILL);
    assert_true(took >= 0.35);
    assert_true(took < 5.0);
    assert_non_null(out);
    assert_int_equal(out->data_size, 6);
    assert_memory_equal(out->data, "ready\n", 6);
    free(out->data);
    free(out);
}

static void test_group_stop_reaches_grandchild(void **state)
{
    /* The grandchild holds the output pipe: only a group stop ends it. */
    ProcReact_Future future = spawn_sh("sleep 100 & echo $!; wait", 1, procreact_create_string_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    pid_t grandchild;
    (void)state;
    assert_int_equal(procreact_future_set_timeout(&future, 0.3), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_non_null(out);
    grandchild = (pid_t)atoi(out);
    assert_true(grandchild > 0);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_true(gone_within(grandchild, 3000));
    free(out);
}

static void test_pipe_held_outside_group_is_abandoned(void **state)
{
    /* No new group: the grandchild survives the stop and keeps the pipe
     * open; reading is abandoned shortly after SIGKILL. */
    ProcReact_Future future = spawn_sh("sleep 3 & exec sleep 100", 0, procreact_create_bytes_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    double start = t_now(), took;
    void *out;
    (void)state;
    assert_int_equal(procreact_future_set_stop(&future, SIGKILL, 0), 0);
    assert_int_equal(procreact_future_set_timeout(&future, 0.1), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    took = t_now() - start;
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_int_equal(info.signal, SIGKILL);
    assert_true(took < 2.0);
    free_bytes(out);
}

static void test_output_limit(void **state)
{
    ProcReact_Future future = spawn_sh("yes", 0, procreact_create_bytes_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    ProcReact_BytesState *out;
    unsigned int i;
    (void)state;
    assert_int_equal(procreact_future_set_output_limit(&future, 100001), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_true(info.flags & PROCREACT_EXIT_OUTPUT_LIMIT);
    assert_false(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_non_null(out);
    assert_int_equal(out->data_size, 100001);
    for (i = 0; i < out->data_size; i++)
        assert_int_equal(((char *)out->data)[i], i % 2 == 0 ? 'y' : '\n');
    free(out->data);
    free(out);
}

static void test_output_limit_on_stderr(void **state)
{
    const char *argv[] = {"sh", "-c", "yes err >&2", NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    void *out;
    (void)state;
    assert_int_equal(procreact_command_set_stderr(command, PROCREACT_OUTPUT_CAPTURE, -1), 0);
    future = procreact_command_spawn(command, procreact_create_output_type());
    procreact_command_free(command);
    assert_int_equal(procreact_future_set_output_limit(&future, 1000), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_true(info.flags & PROCREACT_EXIT_OUTPUT_LIMIT);
    assert_int_equal(info.stderr_length, 1000);
    assert_memory_equal(info.stderr_data, "err\nerr\n", 8);
    free(info.stderr_data);
    assert_non_null(out);
    assert_int_equal(((ProcReact_BytesState *)out)->data_size, 0);
    free(out);
}

static void test_output_type_keeps_failed_output(void **state)
{
    ProcReact_Future future = spawn_sh("printf 'half'; exit 3", 0, procreact_create_output_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    ProcReact_BytesState *out;
    (void)state;
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exit_code, 3);
    assert_int_equal(info.flags, 0);
    assert_non_null(out);
    assert_int_equal(out->data_size, 4);
    assert_memory_equal(out->data, "half", 4);
    free(out->data);
    free(out);
    /* The bytes type keeps 0.1's rule. */
    future = spawn_sh("printf 'half'; exit 3", 0, procreact_create_bytes_type());
    assert_null(procreact_future_get(&future, &status));
}

static void test_cancel_waiting_future(void **state)
{
    ProcReact_Future future = spawn_sh("exec sleep 100", 0, procreact_create_bytes_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    (void)state;
    assert_int_equal(procreact_future_cancel(&future), 0);
    free_bytes(procreact_future_get_with_info(&future, &status, &info));
    assert_true(info.flags & PROCREACT_EXIT_CANCELLED);
    assert_int_equal(info.signal, SIGTERM);
    /* Finished now: nothing left to cancel. */
    assert_int_equal(procreact_future_cancel(&future), -1);
    assert_int_equal(errno, ESRCH);
}

static void test_cancel_get_from_another_thread(void **state)
{
    CancelLater c;
    pthread_t thread;
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    double start, took;
    (void)state;
    c.future = spawn_sh("trap '' TERM; while :; do sleep 0.05; done", 1, procreact_create_bytes_type());
    c.delay_ms = 200;
    c.rc = 99;
    assert_int_equal(procreact_future_set_stop(&c.future, SIGTERM, 0.2), 0);
    start = t_now();
    assert_int_equal(pthread_create(&thread, NULL, cancel_later, &c), 0);
    free_bytes(procreact_future_get_with_info(&c.future, &status, &info));
    took = t_now() - start;
    pthread_join(thread, NULL);
    assert_int_equal(c.rc, 0);
    assert_true(info.flags & PROCREACT_EXIT_CANCELLED);
    assert_int_equal(info.signal, SIGKILL); /* TERM ignored: killed after the grace */
    assert_true(took >= 0.35);
    assert_true(took < 5.0);
}

static void test_forked_future_deadline(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    (void)state;
    if (future.pid == 0) {
        t_write_str(future.fd, "partial");
        pause();
        _exit(0);
    }
    assert_true(future.pid > 0);
    assert_int_equal(procreact_future_set_timeout(&future, 0.1), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_non_null(out);
    assert_string_equal(out, "partial");
    free(out);
}

static void test_bad_input(void **state)
{
    ProcReact_Future future = spawn_sh("exit 0", 0, procreact_create_bytes_type());
    ProcReact_Future copy = future;
    ProcReact_Status status;
    (void)state;
    errno = 0;
    assert_int_equal(procreact_future_set_timeout(NULL, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_timeout(&future, NAN), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_stop(&future, 65, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_stop(&future, SIGTERM, -1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_cancel(NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_timeout(&future, -1), 0); /* removes: fine */
    free_bytes(procreact_future_get(&future, &status));
    assert_int_equal(procreact_future_set_timeout(&future, 1), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(procreact_future_set_output_limit(&copy, 1), -1); /* stale copy */
    assert_int_equal(errno, ESRCH);
    assert_non_null(procreact_version());
    assert_int_equal(strncmp(procreact_version(), "0.", 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_timeout_stops_a_hung_program),
        T_TEST(test_grace_then_kill),
        T_TEST(test_group_stop_reaches_grandchild),
        T_TEST(test_pipe_held_outside_group_is_abandoned),
        T_TEST(test_output_limit),
        T_TEST(test_output_limit_on_stderr),
        T_TEST(test_output_type_keeps_failed_output),
        T_TEST(test_cancel_waiting_future),
        T_TEST(test_cancel_get_from_another_thread),
        T_TEST(test_forked_future_deadline),
        T_TEST(test_bad_input),
    };
    return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
