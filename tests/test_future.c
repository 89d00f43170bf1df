/* SPDX-License-Identifier: MIT */
/*
 * procreact_future.h: one child, one result. The basics (the result, the
 * descriptor flags, a child that execs with the result pipe), get repeated
 * after success and after failure, NULL and refused types, zombies left by
 * procreact_destroy_future() (upstream defect 9), and descriptors leaked,
 * the read end after a failed fork included. Reading under signals:
 * test_future_reading.c; descriptors inherited by later children:
 * test_future_descriptors.c.
 */
#include "test.h"

#include <procreact_future.h>
#include <procreact_types.h>

/* ------------------------------------------------------------- basics */

static void test_future_string_result(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result;
    int read_end;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        dprintf(future.fd, "Hello %s!", "world");
        _exit(0);
    }
    assert_true(future.fd >= 0);
    assert_null(future.result);
    read_end = future.fd;
    result = (char *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_string_equal(result, "Hello world!");
    assert_ptr_equal(future.result, result);
    /* The pipe and the child are released by get. */
    assert_int_equal(future.fd, -1);
    assert_false(t_fd_is_open(read_end));
    free(result);
}

static void test_future_descriptor_flags(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status;
    char *result;
    int flags;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        /* The child's write end must survive exec(). */
        dprintf(future.fd, "%d", (fcntl(future.fd, F_GETFD) & FD_CLOEXEC) != 0);
        _exit(0);
    }
    /* The parent's read end must not leak into exec()'d programs. */
    flags = fcntl(future.fd, F_GETFD);
    assert_true(flags >= 0);
    assert_true((flags & FD_CLOEXEC) != 0);
    result = (char *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(result, "0");
    free(result);
}

static void test_future_child_execs_with_result_pipe(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status;
    char *result;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        if (dup2(future.fd, 1) < 0)
            _exit(120);
        execl("/bin/sh", "sh", "-c", "echo from-exec", (char *)NULL);
        _exit(121);
    }
    result = (char *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_string_equal(result, "from-exec\n");
    free(result);
}

/* ------------------------------------------------- repeatable get (9) */

static void test_future_get_repeatable_on_success(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL, again = PROCREACT_STATUS_FORK_FAIL;
    char *first, *second;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "cached");
        _exit(0);
    }
    first = (char *)procreact_future_get(&future, &status);
    second = (char *)procreact_future_get(&future, &again);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(again, PROCREACT_STATUS_OK);
    assert_non_null(first);
    assert_ptr_equal(first, second);
    assert_string_equal(second, "cached");
    assert_ptr_equal(procreact_future_get(&future, NULL), first);
    /* Destroying a completed future leaves the caller's result alone. */
    procreact_destroy_future(&future);
    assert_string_equal(first, "cached");
    free(first);
}

static void check_repeatable_failure(int exit_code, int signo, ProcReact_Status expected)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
    ProcReact_Status status = (ProcReact_Status)99, again = (ProcReact_Status)99;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "ignored");
        if (signo != 0)
            t_die_by_signal(signo);
        _exit(exit_code);
    }
    assert_null(procreact_future_get(&future, &status));
    assert_int_equal(status, expected);
    /* Upstream read a closed descriptor here. */
    assert_null(procreact_future_get(&future, &again));
    assert_int_equal(again, expected);
    procreact_destroy_future(&future);
}

static void test_future_get_repeatable_on_failure(void **state)
{
    ProcReact_Future failed;
    ProcReact_Type broken = procreact_create_string_type();
    ProcReact_Status status = PROCREACT_STATUS_OK;
    (void)state;
    check_repeatable_failure(4, 0, PROCREACT_STATUS_OK);
    check_repeatable_failure(0, SIGKILL, PROCREACT_STATUS_ABNORMAL_TERMINATION);

    broken.append = NULL;
    failed = procreact_initialize_future(broken);
    assert_int_equal(failed.pid, -1);
    assert_null(procreact_future_get(&failed, &status));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    status = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&failed, &status));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
}

static void test_future_null_and_refused(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    ProcReact_Type type = procreact_create_string_type();
    ProcReact_Future future;
    (void)state;
    assert_null(procreact_future_get(NULL, &status));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    procreact_destroy_future(NULL);

    type.finalize = NULL;
    future = procreact_initialize_future(type);
    assert_int_equal(future.pid, -1);
    assert_int_equal(future.fd, -1);
    procreact_destroy_future(&future); /* harmless */
    procreact_destroy_future(&future);

    type = procreact_create_bytes_type();
    type.append = NULL;
    future = procreact_initialize_future(type);
    assert_int_equal(future.pid, -1);
    assert_int_equal(future.fd, -1);
    procreact_destroy_future(&future);
}

/* -------------------------------------------------- destroy, zombies (9) */

static void test_future_destroy_running_leaves_no_zombie(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    pid_t pid;
    int read_end;
    double start;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "partial output");
        t_sleep_ms(30000);
        _exit(0);
    }
    pid = future.pid;
    read_end = future.fd;
    t_sleep_ms(20);
    start = t_now();
    procreact_destroy_future(&future);
    assert_true(t_now() - start < 10.0); /* it did not wait out the 30 s */
    assert_true(t_no_children());
    assert_false(t_pid_exists(pid));
    assert_false(t_fd_is_open(read_end));
    procreact_destroy_future(&future); /* twice is harmless */
}

static void test_future_destroy_exited_leaves_no_zombie(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
    pid_t pid;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "done");
        _exit(0);
    }
    pid = future.pid;
    while (!t_child_has_exited(pid))
        t_sleep_ms(1);
    procreact_destroy_future(&future);
    assert_true(t_no_children());
    assert_false(t_pid_exists(pid));
}

/* -------------------------------------------------- descriptor leaks (9) */

static void test_future_no_descriptor_leak(void **state)
{
    ProcReact_Type broken = procreact_create_string_type();
    int before, i;
    (void)state;
    broken.append = NULL;
    before = t_count_fds();
    assert_true(before > 0);
    for (i = 0; i < 40; ++i) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
        ProcReact_Status status;
        assert_true(future.pid >= 0);
        if (future.pid == 0) {
            t_write_str(future.fd, "x");
            _exit(0);
        }
        free(procreact_future_get(&future, &status));
        procreact_destroy_future(&future);
    }
    for (i = 0; i < 20; ++i) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
        assert_true(future.pid >= 0);
        if (future.pid == 0) {
            t_sleep_ms(30000);
            _exit(0);
        }
        procreact_destroy_future(&future);
    }
    for (i = 0; i < 40; ++i) {
        ProcReact_Future future = procreact_initialize_future(broken);
        assert_int_equal(future.pid, -1);
        procreact_destroy_future(&future);
    }
    assert_int_equal(t_count_fds(), before);
}

/* A real failed fork: in a helper process whose user may not have any more
 * processes (RLIMIT_NPROC 0), procreact_initialize_future() must report
 * pid -1 and leave the descriptor count as it was. */
static void test_future_failed_fork_leaks_nothing(void **state)
{
    pid_t helper;
    int wstatus;
    (void)state;
    helper = fork();
    assert_true(helper >= 0);
    if (helper == 0) {
        struct rlimit none = {0, 0};
        ProcReact_Future future;
        int before, after;
        if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10); /* root ignores RLIMIT_NPROC: become nobody */
        if (setrlimit(RLIMIT_NPROC, &none) != 0)
            _exit(11);
        before = t_count_fds();
        future = procreact_initialize_future(procreact_create_string_type());
        if (future.pid == 0)
            _exit(0); /* the fork was not refused after all */
        if (future.pid > 0) {
            procreact_destroy_future(&future);
            _exit(12);
        }
        after = t_count_fds();
        if (future.fd != -1)
            _exit(13);
        if (after != before)
            _exit(14);
        procreact_destroy_future(&future);
        if (t_count_fds() != before)
            _exit(15);
        _exit(0);
    }
    wstatus = t_reap(helper);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_future_string_result),
        T_TEST(test_future_descriptor_flags),
        T_TEST(test_future_child_execs_with_result_pipe),
        T_TEST(test_future_get_repeatable_on_success),
        T_TEST(test_future_get_repeatable_on_failure),
        T_TEST(test_future_null_and_refused),
        T_TEST(test_future_destroy_running_leaves_no_zombie),
        T_TEST(test_future_destroy_exited_leaves_no_zombie),
        T_TEST(test_future_no_descriptor_leak),
        T_TEST(test_future_failed_fork_leaks_nothing),
    };
    return cmocka_run_group_tests_name("future", tests, NULL, NULL);
}
