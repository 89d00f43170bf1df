/* SPDX-License-Identifier: MIT */
/*
 * Suite 'leaks': thousands of futures and processes, and afterwards the
 * process holds exactly the descriptors and children it held before.
 *
 * Each run checks every result (a child writes its own index) so that a run
 * that "leaks nothing" because it did nothing cannot pass.
 */
#include "hard.h"

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_types.h>

#define FUTURES 10000L

static long futures_run_total;

/* ---- futures one after the other ---- */

static void sequential_futures(void **unused)
{
    (void)unused;
    const long n = hard_scaled(FUTURES, 100);
    HardSnapshot before = hard_snapshot();
    for (long i = 0; i < n; ++i) {
        /* rotate through the three built-in types */
        ProcReact_Type type = i % 3 == 0   ? procreact_create_string_type()
                              : i % 3 == 1 ? procreact_create_bytes_type()
                                           : procreact_create_string_array_type('\n');
        ProcReact_Future f = procreact_initialize_future(type);
        if (f.pid == 0) {
            char buf[32];
            int len = snprintf(buf, sizeof buf, "%ld\n", i);
            _exit(hard_write_all(f.fd, buf, (size_t)len) == 0 ? 0 : 1);
        }
        assert_true(f.pid > 0);
        ProcReact_Status st = PROCREACT_STATUS_WAIT_FAIL;
        void *r = procreact_future_get(&f, &st);
        assert_int_equal(st, PROCREACT_STATUS_OK);
        assert_non_null(r);
        char expect[32];
        snprintf(expect, sizeof expect, "%ld\n", i);
        if (i % 3 == 0) {
            assert_string_equal((char *)r, expect);
            free(r);
        } else if (i % 3 == 1) {
            ProcReact_BytesState *b = r;
            assert_int_equal(b->data_size, strlen(expect));
            assert_memory_equal(b->data, expect, strlen(expect));
            free(b->data);
            free(b);
        } else {
            char **arr = r;
            expect[strlen(expect) - 1] = '\0';
            assert_string_equal(arr[0], expect);
            assert_null(arr[1]);
            procreact_free_string_array(arr);
        }
        /* asking again returns the cached result and touches nothing */
        assert_ptr_equal(procreact_future_get(&f, &st), r);
        procreact_destroy_future(&f);
    }
    futures_run_total += n;
    HardSnapshot after = hard_snapshot();
    print_message("leaks: sequential futures: %ld run, fds %d -> %d, children %d -> %d\n", n, before.fds, after.fds,
                  before.children, after.children);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- future iterators ---- */

typedef struct {
    long next;
    long total;
    long completed;
    long wrong;
    unsigned char *seen;
} FutureRun;

static ProcReact_bool fr_has_next(void *data)
{
    FutureRun *run = data;
    return run->next < run->total;
}

static ProcReact_Future fr_next(void *data)
{
    FutureRun *run = data;
    const long i = run->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%ld", i);
        _exit(hard_write_all(f.fd, buf, (size_t)len) == 0 ? 0 : 1);
    }
    return f;
}

static void fr_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    FutureRun *run = data;
    run->completed++;
    char *s = future->result;
    if (status != PROCREACT_STATUS_OK || s == NULL) {
        run->wrong++;
    } else {
        long i = strtol(s, NULL, 10);
        if (i < 0 || i >= run->total || run->seen[i])
            run->wrong++;
        else
            run->seen[i] = 1;
    }
    free(s);
}

static void run_future_iterator(unsigned int limit)
{
    const long n = hard_scaled(FUTURES, 100);
    HardSnapshot before = hard_snapshot();
    FutureRun run = { 0, n, 0, 0, calloc((size_t)n, 1) };
    assert_non_null(run.seen);
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(fr_has_next, fr_next, fr_complete, &run);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, limit);
    assert_int_equal(it.running_processes, 0);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(run.completed, n);
    assert_int_equal(run.wrong, 0);
    free(run.seen);
    futures_run_total += n;
    HardSnapshot after = hard_snapshot();
    print_message("leaks: future iterator limit %u: %ld futures, fds %d -> %d, children %d -> %d\n", limit, n,
                  before.fds, after.fds, before.children, after.children);
    HARD_ASSERT_NO_LEAK(before);
}

static void future_iterator_limit_1(void **unused)
{
    (void)unused;
    run_future_iterator(1);
}

static void future_iterator_limit_8(void **unused)
{
    (void)unused;
    run_future_iterator(8);
}

static void future_iterator_limit_64(void **unused)
{
    (void)unused;
    run_future_iterator(64);
}

/* ---- pid iterators ---- */

typedef struct {
    long next;
    long total;
    long completed;
    long wrong;
} PidRun;

static ProcReact_bool pr_has_next(void *data)
{
    PidRun *run = data;
    return run->next < run->total;
}

static pid_t pr_next(void *data)
{
    PidRun *run = data;
    const long i = run->next++;
    pid_t pid = fork();
    if (pid == 0)
        _exit((int)(i % 7));
    return pid;
}

static void pr_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    PidRun *run = data;
    run->completed++;
    if (pid <= 0 || status != PROCREACT_STATUS_OK || result < 0 || result > 6)
        run->wrong++;
}

static void run_pid_iterator(unsigned int limit)
{
    const long n = hard_scaled(FUTURES, 100);
    HardSnapshot before = hard_snapshot();
    PidRun run = { 0, n, 0, 0 };
    ProcReact_PidIterator it =
        procreact_initialize_pid_iterator(pr_has_next, pr_next, procreact_retrieve_exit_status, pr_complete, &run);
    procreact_fork_and_wait_in_parallel_limit(&it, limit);
    assert_int_equal(it.running_processes, 0);
    procreact_destroy_pid_iterator(&it);
    assert_int_equal(run.completed, n);
    assert_int_equal(run.wrong, 0);
    futures_run_total += n;
    HardSnapshot after = hard_snapshot();
    print_message("leaks: pid iterator limit %u: %ld processes, fds %d -> %d, children %d -> %d\n", limit, n,
                  before.fds, after.fds, before.children, after.children);
    HARD_ASSERT_NO_LEAK(before);
}

static void pid_iterator_limit_1(void **unused)
{
    (void)unused;
    run_pid_iterator(1);
}

static void pid_iterator_limit_8(void **unused)
{
    (void)unused;
    run_pid_iterator(8);
}

static void pid_iterator_limit_64(void **unused)
{
    (void)unused;
    run_pid_iterator(64);
}

/* ---- abandoning: destroy with children still running ---- */

static ProcReact_Future sleepy_future(void)
{
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0) {
        hard_write_all(f.fd, "partial", 7);
        for (;;)
            pause();
    }
    return f;
}

static ProcReact_Future fr_sleepy_next(void *data)
{
    FutureRun *run = data;
    run->next++;
    return sleepy_future();
}

static pid_t pr_sleepy_next(void *data)
{
    PidRun *run = data;
    run->next++;
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void abandoned_work(void **unused)
{
    (void)unused;
    const long rounds = hard_scaled(300, 10);
    HardSnapshot before = hard_snapshot();
    for (long r = 0; r < rounds; ++r) {
        /* a single future destroyed while its child runs */
        ProcReact_Future f = sleepy_future();
        assert_true(f.pid > 0);
        procreact_destroy_future(&f);
        procreact_destroy_future(&f); /* twice is harmless */

        /* a future iterator destroyed with 4 children running */
        FutureRun frun = { 0, 4, 0, 0, calloc(4, 1) };
        ProcReact_FutureIterator fit = procreact_initialize_future_iterator(fr_has_next, fr_sleepy_next, fr_complete,
                                                                           &frun);
        while (procreact_spawn_next_future(&fit))
            ;
        assert_int_equal(fit.running_processes, 4);
        procreact_destroy_future_iterator(&fit);
        assert_int_equal(frun.completed, 0); /* discarded without complete */
        free(frun.seen);

        /* a pid iterator abandoned with 4 children running */
        PidRun prun = { 0, 4, 0, 0 };
        ProcReact_PidIterator pit =
            procreact_initialize_pid_iterator(pr_has_next, pr_sleepy_next, NULL, pr_complete, &prun);
        while (procreact_spawn_next_pid(&pit))
            ;
        assert_int_equal(pit.running_processes, 4);
        procreact_destroy_pid_iterator(&pit);
        assert_int_equal(prun.completed, 0);
    }
    futures_run_total += rounds * 9;
    HardSnapshot after = hard_snapshot();
    print_message("leaks: %ld rounds of abandoned work, fds %d -> %d, children %d -> %d\n", rounds, before.fds,
                  after.fds, before.children, after.children);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- the main-loop step with the signal handler registered ---- */

static void main_loop_step(void **unused)
{
    (void)unused;
    const long n = hard_scaled(2000, 50);
    assert_int_equal(procreact_register_signal_handler(), 0);
    HardSnapshot before = hard_snapshot();
    PidRun run = { 0, n, 0, 0 };
    ProcReact_PidIterator it =
        procreact_initialize_pid_iterator(pr_has_next, pr_next, procreact_retrieve_exit_status, pr_complete, &run);
    while (run.completed < n) {
        while (it.running_processes < 16 && procreact_spawn_next_pid(&it))
            ;
        procreact_complete_all_finished_processes(&it);
        if (run.completed < n)
            hard_sleep_ms(0);
    }
    assert_int_equal(run.wrong, 0);
    assert_int_equal(it.running_processes, 0);
    futures_run_total += n;
    HardSnapshot after = hard_snapshot();
    print_message("leaks: main-loop step: %ld processes, fds %d -> %d, children %d -> %d\n", n, before.fds, after.fds,
                  before.children, after.children);
    HARD_ASSERT_NO_LEAK(before);
}

static int report_total(void **unused)
{
    (void)unused;
    print_message("leaks: %ld futures/processes run in total\n", futures_run_total);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_futures),     cmocka_unit_test(future_iterator_limit_1),
        cmocka_unit_test(future_iterator_limit_8), cmocka_unit_test(future_iterator_limit_64),
        cmocka_unit_test(pid_iterator_limit_1),   cmocka_unit_test(pid_iterator_limit_8),
        cmocka_unit_test(pid_iterator_limit_64),  cmocka_unit_test(abandoned_work),
        cmocka_unit_test(main_loop_step),
    };
    return cmocka_run_group_tests(tests, NULL, report_total);
}
