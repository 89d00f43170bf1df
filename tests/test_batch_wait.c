/* SPDX-License-Identifier: MIT */
/*
 * procreact_batch.h: waiting for the results. Waits with timeouts (which
 * need no epoll or timer descriptor), a main loop on the batch's
 * descriptor, quiet once every ended job is taken and readable while
 * results are left over, and a job that ended handed out while its
 * siblings still run.
 */
#include "batch_test.h"

static void test_batch_wait_timeouts_and_fd(void **state)
{
    ProcReact_Batch *b = make_batch(0, 1);
    ProcReact_BatchResult out[2];
    struct pollfd p;
    double t0;
    int fd = procreact_batch_fd(b);
    assert_true(fd >= 0);
    assert_int_equal(submit_sh(b, "sleep 0.4; echo done", NULL), 0);
    assert_int_equal(procreact_batch_wait(b, out, 2, 0), 0);
    assert_int_equal(procreact_batch_remaining(b), 1);
    t0 = t_now();
    assert_int_equal(procreact_batch_wait(b, out, 2, 100), 0);
    assert_true(t_now() - t0 >= 0.09);
    assert_int_equal(procreact_batch_remaining(b), 1);
    /* A main loop: poll the descriptor, then look without sleeping. */
    for (;;) {
        long long n;
        p.fd = fd;
        p.events = POLLIN;
        assert_true(poll(&p, 1, 5000) >= 0);
        n = procreact_batch_wait(b, out, 2, 0);
        if (n == 0)
            continue;
        assert_int_equal(n, 1);
        assert_int_equal(out[0].stdout_length, 5);
        assert_memory_equal(out[0].stdout_data, "done\n", 5);
        break;
    }
    assert_int_equal(procreact_batch_remaining(b), 0);
    assert_int_equal(procreact_batch_wait(b, out, 2, -1), 0);
    procreact_batch_free(b);
}

/* A wait with a timeout sleeps in the batch's own wait (poll() over a few
 * descriptors): no epoll set and no timer descriptor, the system calls per
 * program that a binding waiting this way would otherwise pay. */
static void test_batch_timed_wait_needs_no_descriptor(void **state)
{
    ProcReact_Batch *b = make_batch(0, 2);
    ProcReact_BatchResult out[2];
    const int epolls = t_count_fds_of("eventpoll"), timers = t_count_fds_of("timerfd");
    size_t got = 0;
    double t0;
    assert_int_equal(submit_sh(b, "sleep 0.3; echo a", NULL), 0);
    assert_int_equal(submit_sh(b, "sleep 0.3; echo b", NULL), 1);
    t0 = t_now();
    assert_int_equal(procreact_batch_wait(b, out, 2, 100), 0); /* nothing ends in 100 ms */
    assert_true(t_now() - t0 >= 0.09);
    while (got < 2) {
        ssize_t n = procreact_batch_wait(b, out, 2, 100);
        assert_true(n >= 0);
        for (ssize_t i = 0; i < n; i++)
            assert_int_equal(out[i].stdout_length, 2);
        got += (size_t)n;
        assert_int_equal(t_count_fds_of("eventpoll"), epolls);
        assert_int_equal(t_count_fds_of("timerfd"), timers);
    }
    assert_true(t_now() - t0 < 5.0);
    assert_int_equal(procreact_batch_remaining(b), 0);
    procreact_batch_free(b);
}

/* A main loop that took every ended job out must not be woken again at
 * once: the descriptor stays quiet while the others run (a timer armed for
 * the results just handed out would wake it for nothing, each time). */
static void test_batch_fd_quiet_after_results(void **state)
{
    ProcReact_Batch *b = make_batch(0, 2);
    ProcReact_BatchResult out[2];
    struct pollfd p;
    int fd = procreact_batch_fd(b);
    assert_true(fd >= 0);
    assert_int_equal(submit_sh(b, "exit 0", NULL), 0);
    assert_int_equal(submit_sh(b, "exec sleep 30", NULL), 1);
    for (;;) { /* the first wait starts them */
        ssize_t n = procreact_batch_wait(b, out, 2, 0);
        if (n > 0) {
            assert_int_equal(n, 1);
            assert_int_equal(out[0].index, 0);
            break;
        }
        p.fd = fd;
        p.events = POLLIN;
        assert_true(poll(&p, 1, 5000) > 0);
    }
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    assert_int_equal(poll(&p, 1, 100), 0); /* nothing to do until the sleep ends */
    procreact_batch_free(b);
    assert_true(t_no_children());
}

/* Results left over because the caller took fewer than had ended keep the
 * descriptor readable: a main loop comes back for them. */
static void test_batch_fd_readable_for_leftovers(void **state)
{
    ProcReact_Batch *b = make_batch(0, 2);
    ProcReact_BatchResult out[1];
    const char *argv[] = {"/nonexistent/procreact-none", "/nonexistent/procreact-none"};
    size_t counts[] = {1, 1};
    struct pollfd p;
    size_t first;
    int fd = procreact_batch_fd(b);
    assert_true(fd >= 0);
    assert_int_equal(procreact_batch_submit(b, argv, counts, 2), 0);
    assert_int_equal(procreact_batch_wait(b, out, 1, 0), 1); /* both failed to start; one taken */
    assert_int_equal(out[0].status, PROCREACT_STATUS_FORK_FAIL);
    /* Either may come first: the batch's spawning threads start them together. */
    first = out[0].index;
    assert_true(first == 0 || first == 1);
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_int_equal(procreact_batch_wait(b, out, 1, 0), 1);
    assert_int_equal(out[0].index, 1 - first);
    assert_int_equal(procreact_batch_remaining(b), 0);
    procreact_batch_free(b);
}

/* Gathering results that end close together never holds one back for
 * long: with queued jobs still to start, a wait hands out a job that ended
 * while its siblings go on running. */
static void test_batch_wait_gathers_briefly(void **state)
{
    ProcReact_Batch *b = make_batch(0, 2);
    ProcReact_BatchResult out[4];
    double t0;
    ssize_t n;
    assert_int_equal(submit_sh(b, "exit 0", NULL), 0);
    for (int i = 1; i < 4; i++)
        assert_int_equal(submit_sh(b, "exec sleep 30", NULL), i);
    t0 = t_now();
    n = procreact_batch_wait(b, out, 4, -1);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].index, 0);
    assert_true(t_now() - t0 < 2.0);
    procreact_batch_free(b);
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_wait_timeouts_and_fd),
        cmocka_unit_test(test_batch_timed_wait_needs_no_descriptor),
        cmocka_unit_test(test_batch_fd_quiet_after_results),
        cmocka_unit_test(test_batch_fd_readable_for_leftovers),
        cmocka_unit_test(test_batch_wait_gathers_briefly),
    };
    return cmocka_run_group_tests_name("batch_wait", tests, NULL, NULL);
}
