/* SPDX-License-Identifier: MIT */
/*
 * Suite 'badinput': NULL iterators, NULL callbacks, NULL complete and
 * retrieve callbacks, and limit 0. Each has the outcome the headers
 * document, and nothing crashes, hangs, leaks or reaps a child that is not
 * the library's. Types with NULL members, the building blocks and misused
 * futures: test_badinput_types.c; pids that name no single child:
 * test_badinput_pids.c.
 */
#include "badinput_counts.h"

/* ---- NULL everywhere ---- */

static void null_iterators(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    assert_int_equal(procreact_spawn_next_future(NULL), 0);
    assert_int_equal(procreact_buffer(NULL), 0);
    procreact_fork_in_parallel_buffer_and_wait(NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(NULL, 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(NULL, 4);
    procreact_destroy_future_iterator(NULL);

    assert_int_equal(procreact_spawn_next_pid(NULL), 0);
    assert_int_equal(procreact_wait_for_process_to_complete(NULL), 0);
    procreact_fork_in_parallel_and_wait(NULL);
    procreact_fork_and_wait_in_parallel_limit(NULL, 0);
    procreact_fork_and_wait_in_parallel_limit(NULL, 3);
    procreact_complete_all_finished_processes(NULL);
    procreact_destroy_pid_iterator(NULL);

    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(NULL, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    assert_null(procreact_future_get(NULL, NULL));
    procreact_destroy_future(NULL);
    procreact_free_string_array(NULL);
    HARD_ASSERT_NO_LEAK(before);
}

static int g_calls;

static ProcReact_bool never(void *data)
{
    (void)data;
    g_calls++;
    return 0;
}

static ProcReact_bool always(void *data)
{
    (void)data;
    g_calls++;
    return 1;
}

static void iterators_with_null_callbacks(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    /* has_next or next NULL: nothing is spawned, nothing loops */
    ProcReact_FutureIterator f1 = procreact_initialize_future_iterator(NULL, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_future(&f1), 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(&f1, 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(&f1, 2);
    assert_int_equal(procreact_buffer(&f1), 0);
    procreact_destroy_future_iterator(&f1);

    g_calls = 0;
    ProcReact_FutureIterator f2 = procreact_initialize_future_iterator(always, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_future(&f2), 0);
    procreact_fork_in_parallel_buffer_and_wait(&f2);
    procreact_destroy_future_iterator(&f2);

    ProcReact_PidIterator p1 = procreact_initialize_pid_iterator(NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_pid(&p1), 0);
    procreact_fork_and_wait_in_parallel_limit(&p1, 0);
    procreact_fork_and_wait_in_parallel_limit(&p1, 5);
    assert_int_equal(procreact_wait_for_process_to_complete(&p1), 0);
    procreact_complete_all_finished_processes(&p1);
    procreact_destroy_pid_iterator(&p1);

    ProcReact_PidIterator p2 = procreact_initialize_pid_iterator(always, NULL, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_pid(&p2), 0);
    procreact_fork_in_parallel_and_wait(&p2);

    g_calls = 0;
    ProcReact_PidIterator p3 = procreact_initialize_pid_iterator(never, NULL, NULL, NULL, NULL);
    procreact_fork_in_parallel_and_wait(&p3);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- NULL complete and NULL retrieve: results are freed, children reaped ---- */

static ProcReact_Future string_array_next(void *data)
{
    (void)data;
    g_left--;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_array_type('\n'));
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "x\ny\n", 4) == 0 ? 0 : 1);
    return f;
}

static pid_t exit7_next(void *data)
{
    (void)data;
    g_left--;
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    return pid;
}

static void null_complete_and_retrieve(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    g_left = 50;
    ProcReact_FutureIterator fit = procreact_initialize_future_iterator(some_left, string_array_next, NULL, NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(&fit, 4);
    assert_int_equal(g_left, 0);
    procreact_destroy_future_iterator(&fit);

    g_left = 50;
    ProcReact_PidIterator pit = procreact_initialize_pid_iterator(some_left, exit7_next, NULL, NULL, NULL);
    procreact_fork_and_wait_in_parallel_limit(&pit, 4);
    assert_int_equal(g_left, 0);
    assert_int_equal(pit.running_processes, 0);
    HARD_ASSERT_NO_LEAK(before); /* under valgrind/ASan: the results were freed */
}

/* ---- limit 0 means no limit ---- */

static unsigned g_max_running;
static ProcReact_PidIterator *g_watched;

static pid_t slow_next(void *data)
{
    (void)data;
    g_left--;
    pid_t pid = fork();
    if (pid == 0) {
        hard_sleep_ms(200);
        _exit(0);
    }
    return pid;
}

static void note_running(void *data, pid_t pid, ProcReact_Status status, int result)
{
    (void)data;
    (void)pid;
    (void)status;
    (void)result;
    if (g_watched->running_processes + 1 > g_max_running)
        g_max_running = g_watched->running_processes + 1;
}

static void limit_zero_is_no_limit(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    g_left = 20;
    g_max_running = 0;
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(some_left, slow_next, NULL, note_running, NULL);
    g_watched = &it;
    procreact_fork_and_wait_in_parallel_limit(&it, 0);
    assert_int_equal(g_left, 0);
    assert_int_equal(g_max_running, 20); /* all were running at the first completion */

    g_left = 30;
    ProcReact_FutureIterator fit = procreact_initialize_future_iterator(some_left, string_array_next, NULL, NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(&fit, 0);
    assert_int_equal(g_left, 0);
    assert_int_equal(fit.running_processes, 0);
    procreact_destroy_future_iterator(&fit);
    procreact_destroy_future_iterator(&fit); /* twice */
    /* and the iterator can be used again after destroy */
    g_left = 3;
    procreact_fork_buffer_and_wait_in_parallel_limit(&fit, 1);
    assert_int_equal(g_left, 0);
    procreact_destroy_future_iterator(&fit);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the bad-input tests", (unsigned)(getenv("HARDENING_SCALE") ? 600 : 60));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_iterators),
        cmocka_unit_test(iterators_with_null_callbacks),
        cmocka_unit_test(null_complete_and_retrieve),
        cmocka_unit_test(limit_zero_is_no_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
