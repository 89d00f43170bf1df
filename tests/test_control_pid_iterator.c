/* SPDX-License-Identifier: MIT */
/*
 * procreact_control.h for pid iterators: a deadline for children that
 * hang, and the pollable descriptor with its non-blocking step and
 * cancellation, each child's exit details read with procreact_pid_info().
 */
#include "test.h"

#include <poll.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_pid_iterator.h>

/* ---------------------------------------------------------- pid iterators */

typedef struct {
    int total, spawned, completed, timed_out, cancelled, info_ok;
    int hang; /* children sleep forever */
} PidRun;

static ProcReact_bool pr_has_next(void *data)
{
    PidRun *r = data;
    return r->spawned < r->total;
}

static pid_t pr_next(void *data)
{
    PidRun *r = data;
    pid_t pid = r->hang ? fork() : t_fork_sleeper(20, 7);
    if (pid == 0)
        for (;;)
            pause();
    r->spawned++;
    return pid;
}

static void pr_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    PidRun *r = data;
    ProcReact_ExitInfo info;
    (void)status;
    (void)result;
    r->completed++;
    if (procreact_pid_info(pid, &info) == 0) {
        r->info_ok++;
        if (info.flags & PROCREACT_EXIT_TIMED_OUT)
            r->timed_out++;
        if (info.flags & PROCREACT_EXIT_CANCELLED)
            r->cancelled++;
        if (!r->hang) {
            assert_int_equal(info.exit_code, 7);
            /* Counted from when the library was handed the pid, after the
             * client's fork(): on a slow (sanitized) run the child may have
             * slept part of its 20 ms before that. */
            assert_true(info.wall_time > 0.0 && info.wall_time < 60.0);
        }
    }
}

static void test_pid_iterator_timeout(void **state)
{
    PidRun r = {4, 0, 0, 0, 0, 0, 1};
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(pr_has_next, pr_next, NULL, pr_complete, &r);
    double start = t_now();
    (void)state;
    assert_int_equal(procreact_pid_iterator_set_timeout(&it, 0.1), 0);
    procreact_fork_and_wait_in_parallel_limit(&it, 2);
    procreact_destroy_pid_iterator(&it);
    assert_int_equal(r.completed, 4);
    assert_int_equal(r.timed_out, 4);
    assert_int_equal(r.info_ok, 4);
    assert_true(t_now() - start < 4.0);
    errno = 0;
    assert_int_equal(procreact_pid_info(1, &(ProcReact_ExitInfo){0}), -1); /* outside a callback */
    assert_int_equal(errno, ESRCH);
}

static void test_pid_iterator_fd_step_and_cancel(void **state)
{
    PidRun r = {10, 0, 0, 0, 0, 0, 0};
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(pr_has_next, pr_next, NULL, pr_complete, &r);
    struct pollfd p;
    int active;
    (void)state;
    p.fd = procreact_pid_iterator_fd(&it);
    p.events = POLLIN;
    assert_true(p.fd > 2);
    active = procreact_pid_iterator_step(&it, 3);
    assert_int_equal(active, 1);
    while (active == 1) {
        assert_int_equal(poll(&p, 1, 5000), 1);
        active = procreact_pid_iterator_step(&it, 3);
        assert_true(it.running_processes <= 3);
    }
    assert_int_equal(r.completed, 10);
    assert_int_equal(r.info_ok, 10);

    /* The same iterator again, now with hanging children, cancelled. */
    r.total = 20;
    r.hang = 1;
    active = procreact_pid_iterator_step(&it, 3);
    assert_int_equal(it.running_processes, 3);
    assert_int_equal(procreact_pid_iterator_cancel(&it), 0);
    while (active == 1) {
        assert_int_equal(poll(&p, 1, 5000), 1);
        active = procreact_pid_iterator_step(&it, 3);
    }
    assert_int_equal(r.spawned, 13);
    assert_int_equal(r.completed, 13);
    assert_int_equal(r.cancelled, 3);
    procreact_destroy_pid_iterator(&it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_pid_iterator_timeout),
        T_TEST(test_pid_iterator_fd_step_and_cancel),
    };
    return cmocka_run_group_tests_name("control_pid_iterator", tests, NULL, NULL);
}
