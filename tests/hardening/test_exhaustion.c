/* SPDX-License-Identifier: MIT */
/*
 * Suite 'exhaustion': fork() failing (through the test-only interposer in
 * forkfail.c) and descriptors running out (RLIMIT_NOFILE lowered while
 * futures run). Each item that cannot be started completes with
 * PROCREACT_STATUS_FORK_FAIL, the others succeed with the right result,
 * nothing leaks, and once the limit is lifted the library works again.
 * System calls counted or made to fail: test_exhaustion_syscalls.c.
 */
#include "exhaustion_run.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>

#include "forkfail.h"

/* ---- fork() failing ---- */

static void single_future_fork_fails(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    forkfail_arm(0, 1);
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    assert_int_equal(f.pid, -1);
    assert_int_equal(f.fd, -1);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&f, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&f, &st)); /* repeatable */
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    procreact_destroy_future(&f);
    HARD_ASSERT_NO_LEAK(before); /* the pipe made before the fork is gone */

    /* the next one works */
    f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "back", 4) == 0 ? 0 : 1);
    char *s = procreact_future_get(&f, &st);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_string_equal(s, "back");
    free(s);
    HARD_ASSERT_NO_LEAK(before);
}

static void check_window(const Run *r, long skip, long count)
{
    for (long i = 0; i < r->total; ++i) {
        const int expect = (i >= skip && i < skip + count) ? 2 : 1;
        if (r->outcome[i] != expect)
            print_error("item %ld: outcome %d, expected %d\n", i, r->outcome[i], expect);
        assert_int_equal(r->outcome[i], expect);
    }
}

static void future_iterator_fork_fails(void **unused)
{
    (void)unused;
    static const unsigned limits[] = { 0, 1, 8, 64 };
    HardSnapshot before = hard_snapshot();
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; ++k) {
        static Run r;
        run_init(&r, 200);
        const long skip = 37, count = 50;
        const long calls0 = forkfail_calls();
        forkfail_arm(skip, count);
        ProcReact_FutureIterator it = procreact_initialize_future_iterator(has_next, future_next, future_complete, &r);
        procreact_fork_buffer_and_wait_in_parallel_limit(&it, limits[k]);
        procreact_destroy_future_iterator(&it);
        print_message("exhaustion: future iterator limit %u: %ld ok, %ld fork failures, %ld wrong (%ld forks)\n",
                      limits[k], r.ok, r.fork_fail, r.wrong, forkfail_calls() - calls0);
        assert_int_equal(r.wrong, 0);
        assert_int_equal(r.fork_fail, count);
        assert_int_equal(r.ok, r.total - count);
        check_window(&r, skip, count);
        HARD_ASSERT_NO_LEAK(before);
    }
}

static void pid_iterator_fork_fails(void **unused)
{
    (void)unused;
    static const unsigned limits[] = { 0, 1, 8 };
    HardSnapshot before = hard_snapshot();
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; ++k) {
        static Run r;
        run_init(&r, 150);
        const long skip = 10, count = 25;
        forkfail_arm(skip, count);
        ProcReact_PidIterator it = procreact_initialize_pid_iterator(has_next, pid_next, NULL, pid_complete, &r);
        procreact_fork_and_wait_in_parallel_limit(&it, limits[k]);
        print_message("exhaustion: pid iterator limit %u: %ld ok, %ld fork failures, %ld wrong\n", limits[k], r.ok,
                      r.fork_fail, r.wrong);
        assert_int_equal(r.wrong, 0);
        assert_int_equal(r.fork_fail, count);
        assert_int_equal(r.ok, r.total - count);
        for (long i = skip; i < skip + count; ++i)
            assert_int_equal(r.outcome[i], 2);
        HARD_ASSERT_NO_LEAK(before);
    }
}

/* ---- descriptors running out ---- */

static int highest_fd(void)
{
    int hi = 2;
    for (int fd = 3; fd < 1024; ++fd)
        if (fcntl(fd, F_GETFD) >= 0)
            hi = fd;
    return hi;
}

/* Descriptors that plug the holes below the highest one in use, so that the
 * lowered limit leaves exactly the intended number of free descriptors. */
static int g_fillers[1024];
static int g_filler_count;

/* Lowers the soft RLIMIT_NOFILE so that exactly @p spare descriptors are left
 * free. Returns the old limit in @p old. */
static void lower_nofile(int spare, struct rlimit *old)
{
    const int hi = highest_fd();
    g_filler_count = 0;
    for (;;) {
        int d = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(d >= 0);
        if (d > hi || g_filler_count == 1024) {
            close(d);
            break;
        }
        g_fillers[g_filler_count++] = d;
    }
    assert_int_equal(getrlimit(RLIMIT_NOFILE, old), 0);
    struct rlimit low = *old;
    low.rlim_cur = (rlim_t)(hi + 1 + spare);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
}

static void restore_nofile(const struct rlimit *old)
{
    assert_int_equal(setrlimit(RLIMIT_NOFILE, old), 0);
    for (int i = 0; i < g_filler_count; ++i)
        close(g_fillers[i]);
    g_filler_count = 0;
}

static void open_gate(Run *r)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    r->gate = p[0];
    r->gate_write = p[1];
}

static void close_gate(Run *r)
{
    if (r->gate_write >= 0)
        close(r->gate_write);
    close(r->gate);
    r->gate = r->gate_write = -1;
}

static void future_iterator_out_of_descriptors(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    static Run r;
    run_init(&r, 60);
    open_gate(&r);
    struct rlimit old;
    lower_nofile(41, &old);
    /* all 60 are spawned at once and wait on the gate: each running one holds
     * a pipe and a pidfd, so the descriptors run out part way */
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(has_next, future_next, future_complete, &r);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 0);
    /* more work while still limited: quick children, 16 at a time */
    static Run quick;
    run_init(&quick, 300);
    ProcReact_FutureIterator it2 = procreact_initialize_future_iterator(has_next, future_next, future_complete, &quick);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it2, 16);
    procreact_destroy_future_iterator(&it);
    procreact_destroy_future_iterator(&it2);
    restore_nofile(&old);
    close_gate(&r);
    print_message("exhaustion: RLIMIT_NOFILE: gated %ld ok + %ld failed, quick %ld ok + %ld failed, %ld + %ld wrong\n",
                  r.ok, r.fork_fail, quick.ok, quick.fork_fail, r.wrong, quick.wrong);
    assert_int_equal(r.wrong, 0);
    assert_int_equal(quick.wrong, 0);
    assert_int_equal(r.ok + r.fork_fail, r.total);
    assert_int_equal(quick.ok + quick.fork_fail, quick.total);
    assert_true(r.fork_fail > 0); /* the limit did bite */
    assert_true(r.ok >= 10);      /* and the others went through */
    HARD_ASSERT_NO_LEAK(before);

    /* lifted: everything works again */
    static Run after;
    run_init(&after, 200);
    ProcReact_FutureIterator it3 = procreact_initialize_future_iterator(has_next, future_next, future_complete, &after);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it3, 32);
    procreact_destroy_future_iterator(&it3);
    assert_int_equal(after.ok, after.total);
    assert_int_equal(after.wrong + after.fork_fail, 0);
    HARD_ASSERT_NO_LEAK(before);
}

static void pid_iterator_out_of_descriptors(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    static Run r;
    run_init(&r, 40);
    open_gate(&r);
    struct rlimit old;
    /* pidfd_open() fails with EMFILE for the later children: they are
     * watched by pid instead, mixed with pidfd-watched ones */
    lower_nofile(12, &old);
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(has_next, pid_next, NULL, pid_complete, &r);
    procreact_fork_and_wait_in_parallel_limit(&it, 0);
    restore_nofile(&old);
    close_gate(&r);
    print_message("exhaustion: RLIMIT_NOFILE pid iterator: %ld ok, %ld failed, %ld wrong\n", r.ok, r.fork_fail,
                  r.wrong);
    assert_int_equal(r.wrong, 0);
    assert_int_equal(r.ok, r.total);
    HARD_ASSERT_NO_LEAK(before);
}

static void single_future_out_of_descriptors(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    struct rlimit old;
    lower_nofile(1, &old); /* a pipe needs two */
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        _exit(0);
    restore_nofile(&old);
    assert_int_equal(f.pid, -1);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&f, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    HARD_ASSERT_NO_LEAK(before);

    lower_nofile(2, &old); /* just enough for the pipe */
    f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "tight", 5) == 0 ? 0 : 1);
    restore_nofile(&old);
    assert_true(f.pid > 0);
    char *s = procreact_future_get(&f, &st);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_string_equal(s, "tight");
    free(s);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the exhaustion tests", (unsigned)(getenv("HARDENING_SCALE") ? 900 : 120));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_future_fork_fails),
        cmocka_unit_test(future_iterator_fork_fails),
        cmocka_unit_test(pid_iterator_fork_fails),
        cmocka_unit_test(single_future_out_of_descriptors),
        cmocka_unit_test(future_iterator_out_of_descriptors),
        cmocka_unit_test(pid_iterator_out_of_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
