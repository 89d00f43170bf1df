/* SPDX-License-Identifier: MIT */
/*
 * procreact_pid.h: turning a wait status into a result, and waiting for
 * exactly one process. Covers the upstream defects of waiting for "any"
 * child (pids 0 and below name groups) and of giving up on EINTR.
 */
#include "test.h"

#include <procreact_pid.h>

/* Runs a child that exits with @p code (or dies by signal @p signo when
 * non-zero) and returns its wait status. */
static int wstatus_of_child(int code, int signo)
{
    pid_t pid = signo != 0 ? fork() : t_fork_exiting(code);
    int wstatus;
    assert_true(pid >= 0);
    if (pid == 0)
        t_die_by_signal(signo);
    wstatus = t_reap(pid);
    assert_int_not_equal(wstatus, -1);
    return wstatus;
}

static void test_retrieve_exit_status_normal(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    int wstatus = wstatus_of_child(7, 0);
    (void)state;
    assert_int_equal(procreact_retrieve_exit_status(1234, wstatus, &status), 7);
    assert_int_equal(status, PROCREACT_STATUS_OK);

    wstatus = wstatus_of_child(0, 0);
    status = PROCREACT_STATUS_FORK_FAIL;
    assert_int_equal(procreact_retrieve_exit_status(1234, wstatus, &status), 0);
    assert_int_equal(status, PROCREACT_STATUS_OK);

    /* A NULL status is allowed. */
    assert_int_equal(procreact_retrieve_exit_status(1234, wstatus_of_child(255, 0), NULL), 255);
}

static void test_retrieve_exit_status_signal(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    (void)state;
    assert_int_equal(procreact_retrieve_exit_status(1234, wstatus_of_child(0, SIGKILL), &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);

    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_retrieve_exit_status(1234, wstatus_of_child(0, SIGSEGV), &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);
}

static void test_retrieve_failed_wait(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    (void)state;
    /* pid -1 means the wait failed, whatever the wait status says. */
    assert_int_equal(procreact_retrieve_exit_status(-1, 0, &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);

    status = PROCREACT_STATUS_OK;
    assert_false(procreact_retrieve_boolean(-1, 0, &status));
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);
}

static void test_retrieve_boolean(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    (void)state;
    assert_true(procreact_retrieve_boolean(99, wstatus_of_child(0, 0), &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);

    status = PROCREACT_STATUS_FORK_FAIL;
    assert_false(procreact_retrieve_boolean(99, wstatus_of_child(3, 0), &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);

    status = PROCREACT_STATUS_OK;
    assert_false(procreact_retrieve_boolean(99, wstatus_of_child(0, SIGABRT), &status));
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);

    assert_true(procreact_retrieve_boolean(99, wstatus_of_child(0, 0), NULL));
}

static void test_wait_fork_fail(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    (void)state;
    assert_int_equal(procreact_wait_and_retrieve(-1, procreact_retrieve_exit_status, &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);

    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(-1, &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);

    assert_int_equal(procreact_wait_and_retrieve(-1, NULL, NULL), -1);
}

/* procreact_pid.h: wait_for_boolean returns "non-zero when the process
 * exited with code 0, 0 otherwise": a failure must never read as true. */
static void test_wait_for_boolean_false_on_failure(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    pid_t reaped;
    (void)state;
    assert_int_equal(procreact_wait_for_boolean(-1, &status), 0);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);

    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_boolean(0, &status), 0);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);

    reaped = t_fork_sleeper(0, 0);
    assert_int_not_equal(t_reap(reaped), -1);
    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_boolean(reaped, &status), 0);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);
}

/* pid 0 and other negative values name process groups: waiting for them
 * would reap somebody else's child. They fail at once. */
static void test_wait_group_pids_fail_without_waiting(void **state)
{
    ProcReact_Status status;
    pid_t finished, sleeping;
    double start;
    (void)state;

    finished = t_fork_sleeper(0, 3);
    assert_true(finished > 0);
    while (!t_child_has_exited(finished))
        t_sleep_ms(1);
    sleeping = t_fork_sleeper(3000, 4);
    assert_true(sleeping > 0);

    start = t_now();
    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_and_retrieve(0, procreact_retrieve_exit_status, &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);

    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(-getpgrp(), &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);

    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(-7, &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);
    /* The sleeping child runs 3 s: returning well before means no wait. */
    assert_true(t_now() - start < 2.0);

    /* Nobody took the finished child from us. */
    {
        int wstatus = t_reap(finished);
        assert_true(WIFEXITED(wstatus));
        assert_int_equal(WEXITSTATUS(wstatus), 3);
    }
    t_kill_and_reap(sleeping);
}

static void test_wait_for_exit_status(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    pid_t pid = t_fork_sleeper(50, 42);
    (void)state;
    assert_true(pid > 0);
    assert_int_equal(procreact_wait_for_exit_status(pid, &status), 42);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_false(t_pid_exists(pid));

    pid = t_fork_sleeper(0, 0);
    assert_int_equal(procreact_wait_for_exit_status(pid, NULL), 0);
}

static void test_wait_for_boolean(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    pid_t pid = t_fork_sleeper(20, 0);
    (void)state;
    assert_true(procreact_wait_for_boolean(pid, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);

    status = PROCREACT_STATUS_FORK_FAIL;
    pid = t_fork_sleeper(20, 1);
    assert_false(procreact_wait_for_boolean(pid, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);
}

static void test_wait_abnormal_termination(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    pid_t pid = fork();
    (void)state;
    assert_true(pid >= 0);
    if (pid == 0)
        t_die_by_signal(SIGSEGV);
    assert_int_equal(procreact_wait_for_exit_status(pid, &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        abort();
    }
    status = PROCREACT_STATUS_OK;
    assert_false(procreact_wait_for_boolean(pid, &status));
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);
}

static void test_wait_not_a_child(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    pid_t pid;
    (void)state;
    /* Our parent is not our child. */
    assert_int_equal(procreact_wait_for_exit_status(getppid(), &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);

    /* A child that was already reaped cannot be waited for again. */
    pid = t_fork_sleeper(0, 0);
    assert_int_not_equal(t_reap(pid), -1);
    status = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(pid, &status), -1);
    assert_int_equal(status, PROCREACT_STATUS_WAIT_FAIL);
}

static pid_t g_seen_pid;
static int g_seen_wstatus;
static int g_retrieve_calls;

static int recording_retrieve(pid_t pid, int wstatus, ProcReact_Status *status)
{
    ++g_retrieve_calls;
    g_seen_pid = pid;
    g_seen_wstatus = wstatus;
    *status = PROCREACT_STATUS_OK;
    return 1234;
}

static void test_wait_custom_and_null_retrieve(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    pid_t pid = t_fork_sleeper(10, 17);
    (void)state;
    g_retrieve_calls = 0;
    assert_int_equal(procreact_wait_and_retrieve(pid, recording_retrieve, &status), 1234);
    assert_int_equal(g_retrieve_calls, 1);
    assert_int_equal(g_seen_pid, pid);
    assert_true(WIFEXITED(g_seen_wstatus));
    assert_int_equal(WEXITSTATUS(g_seen_wstatus), 17);
    assert_int_equal(status, PROCREACT_STATUS_OK);

    /* NULL retrieve means the exit status. */
    pid = t_fork_sleeper(10, 23);
    status = PROCREACT_STATUS_FORK_FAIL;
    assert_int_equal(procreact_wait_and_retrieve(pid, NULL, &status), 23);
    assert_int_equal(status, PROCREACT_STATUS_OK);
}

/* Waiting for one pid never reaps a sibling that finished first. */
static void test_wait_only_for_that_pid(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    pid_t quick = t_fork_sleeper(0, 5);
    pid_t slow = t_fork_sleeper(200, 6);
    int wstatus;
    (void)state;
    assert_true(quick > 0 && slow > 0);
    assert_int_equal(procreact_wait_for_exit_status(slow, &status), 6);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    wstatus = t_reap(quick);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 5);
}

/* Upstream defect 3: an interrupted wait became WAIT_FAIL. */
static void test_wait_survives_eintr(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    pid_t pid;
    long signals;
    int result;
    (void)state;
    pid = t_fork_sleeper(400, 9);
    assert_true(pid >= 0);
    t_storm_start(1000);
    result = procreact_wait_for_exit_status(pid, &status);
    signals = t_storm_stop();
    assert_int_equal(result, 9);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_true(signals >= 5);

    pid = t_fork_sleeper(300, 0);
    t_storm_start(1000);
    result = procreact_wait_for_boolean(pid, &status);
    signals = t_storm_stop();
    assert_true(result);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_true(signals >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_retrieve_exit_status_normal),
        T_TEST(test_retrieve_exit_status_signal),
        T_TEST(test_retrieve_failed_wait),
        T_TEST(test_retrieve_boolean),
        T_TEST(test_wait_fork_fail),
        T_TEST(test_wait_for_boolean_false_on_failure),
        T_TEST(test_wait_group_pids_fail_without_waiting),
        T_TEST(test_wait_for_exit_status),
        T_TEST(test_wait_for_boolean),
        T_TEST(test_wait_abnormal_termination),
        T_TEST(test_wait_not_a_child),
        T_TEST(test_wait_custom_and_null_retrieve),
        T_TEST(test_wait_only_for_that_pid),
        T_TEST(test_wait_survives_eintr),
    };
    return cmocka_run_group_tests_name("pid", tests, NULL, NULL);
}
