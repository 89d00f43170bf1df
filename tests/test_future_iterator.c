/* SPDX-License-Identifier: MIT */
/*
 * procreact_future_iterator.h: many futures at once. The basics (a run to
 * the end, spawn and buffer by hand, failed children, FORK_FAIL
 * completions, NULL arguments) and the in-flight limit, limit 0 included
 * (upstream defect 9). How the iterator waits:
 * test_future_iterator_waiting.c; what it leaves behind:
 * test_future_iterator_leaks.c.
 */
#include "future_iterator_test.h"

/* -------------------------------------------------------------- basics */

static void test_iterator_runs_all(void **state)
{
    static const ChildPlan plans[] = {
        {"zero", 0, 0, NULL, 0, 0}, {"one", 0, 30, "+", 0, 0}, {"two", 0, 0, NULL, 0, 0},
        {"", 0, 10, "three", 0, 0}, {NULL, 0, 0, NULL, 0, 0},
    };
    ProcReact_FutureIterator it;
    Ctx ctx;
    (void)state;
    ctx_init(&ctx, &it, plans, 5);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    assert_int_equal(ctx.completed, 5);
    assert_int_equal(it.running_processes, 0);
    assert_string_equal(ctx.results[0], "zero");
    assert_string_equal(ctx.results[1], "one+");
    assert_string_equal(ctx.results[2], "two");
    assert_string_equal(ctx.results[3], "three");
    assert_string_equal(ctx.results[4], "");
    {
        int i;
        for (i = 0; i < 5; ++i)
            assert_int_equal(ctx.statuses[i], PROCREACT_STATUS_OK);
    }
    assert_int_equal(ctx.max_running, 5);
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

static void test_iterator_spawn_and_buffer_by_hand(void **state)
{
    static const ChildPlan plans[] = {{"a", 0, 0, NULL, 0, 0}, {"b", 0, 0, NULL, 0, 0}};
    ProcReact_FutureIterator it;
    Ctx ctx;
    (void)state;
    ctx_init(&ctx, &it, plans, 2);
    assert_int_equal(it.running_processes, 0);
    assert_true(procreact_spawn_next_future(&it));
    assert_int_equal(it.running_processes, 1);
    assert_true(procreact_spawn_next_future(&it));
    assert_int_equal(it.running_processes, 2);
    assert_false(procreact_spawn_next_future(&it)); /* exhausted */
    while (procreact_buffer(&it) > 0)
        ;
    assert_int_equal(it.running_processes, 0);
    assert_int_equal(procreact_buffer(&it), 0); /* nothing runs: returns at once */
    assert_int_equal(ctx.completed, 2);
    assert_string_equal(ctx.results[0], "a");
    assert_string_equal(ctx.results[1], "b");
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

static void test_iterator_failed_children(void **state)
{
    static const ChildPlan plans[] = {{"out", 0, 0, NULL, 3, 0}, {"out", 0, 0, NULL, 0, SIGSEGV},
                                      {"fine", 0, 0, NULL, 0, 0}};
    ProcReact_FutureIterator it;
    Ctx ctx;
    (void)state;
    ctx_init(&ctx, &it, plans, 3);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    assert_int_equal(ctx.completed, 3);
    assert_null(ctx.results[0]);
    assert_int_equal(ctx.statuses[0], PROCREACT_STATUS_OK);
    assert_null(ctx.results[1]);
    assert_int_equal(ctx.statuses[1], PROCREACT_STATUS_ABNORMAL_TERMINATION);
    assert_string_equal(ctx.results[2], "fine");
    assert_int_equal(ctx.statuses[2], PROCREACT_STATUS_OK);
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

static void test_iterator_fork_fail_completions(void **state)
{
    static const ChildPlan plans[] = {{"0", 0, 0, NULL, 0, 0}, {"1", 0, 0, NULL, 0, 0}, {"2", 0, 0, NULL, 0, 0},
                                      {"3", 0, 0, NULL, 0, 0}, {"4", 0, 0, NULL, 0, 0}, {"5", 0, 0, NULL, 0, 0}};
    ProcReact_FutureIterator it;
    Ctx ctx;
    int i;
    (void)state;
    ctx_init(&ctx, &it, plans, 6);
    ctx.fail_every = 2; /* elements 1, 3, 5 fail */
    for (i = 0; i < 6; ++i) {
        assert_true(procreact_spawn_next_future(&it));
        if (i % 2 == 1) {
            /* Completed at once, not counted as running. */
            assert_true(ctx.done[i]);
            assert_int_equal(ctx.statuses[i], PROCREACT_STATUS_FORK_FAIL);
            assert_null(ctx.results[i]);
        }
    }
    assert_false(procreact_spawn_next_future(&it));
    assert_int_equal(it.running_processes, 3);
    while (procreact_buffer(&it) > 0)
        ;
    assert_int_equal(ctx.fork_fails, 3);
    assert_int_equal(ctx.completed, 6);
    assert_string_equal(ctx.results[0], "0");
    assert_string_equal(ctx.results[2], "2");
    assert_string_equal(ctx.results[4], "4");
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

static int g_plain_left;

static ProcReact_bool plain_has_next(void *data)
{
    (void)data;
    return g_plain_left > 0;
}

static ProcReact_Future plain_next(void *data)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_array_type('\n'));
    (void)data;
    --g_plain_left;
    if (future.pid == 0) {
        t_write_str(future.fd, "x\ny\n");
        _exit(0);
    }
    return future;
}

static void test_iterator_null_arguments(void **state)
{
    ProcReact_FutureIterator it;
    (void)state;
    assert_int_equal(procreact_buffer(NULL), 0);
    assert_false(procreact_spawn_next_future(NULL));
    procreact_destroy_future_iterator(NULL);
    procreact_fork_in_parallel_buffer_and_wait(NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(NULL, 2);

    it = procreact_initialize_future_iterator(NULL, NULL, NULL, NULL);
    assert_false(procreact_spawn_next_future(&it));
    assert_int_equal(procreact_buffer(&it), 0);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    procreact_destroy_future_iterator(&it);

    /* No complete callback: built-in results are freed by the library
     * (valgrind's leak check holds it to that). */
    g_plain_left = 4;
    it = procreact_initialize_future_iterator(plain_has_next, plain_next, NULL, NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 2);
    assert_int_equal(g_plain_left, 0);
    assert_int_equal(it.running_processes, 0);
    procreact_destroy_future_iterator(&it);
}

/* ---------------------------------------------------------- limits (9) */

static void test_iterator_limit(void **state)
{
    static const ChildPlan plan = {"p", 0, 80, NULL, 0, 0};
    ChildPlan plans[8];
    ProcReact_FutureIterator it;
    Ctx ctx;
    int i;
    (void)state;
    for (i = 0; i < 8; ++i)
        plans[i] = plan;
    ctx_init(&ctx, &it, plans, 8);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 3);
    assert_int_equal(ctx.completed, 8);
    assert_int_equal(ctx.max_running, 3);
    assert_int_equal(it.running_processes, 0);
    for (i = 0; i < 8; ++i) {
        assert_int_equal(ctx.statuses[i], PROCREACT_STATUS_OK);
        assert_string_equal(ctx.results[i], "p");
    }
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);

    ctx_init(&ctx, &it, plans, 4);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 1);
    assert_int_equal(ctx.completed, 4);
    assert_int_equal(ctx.max_running, 1);
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

/* Upstream looped forever with a limit of 0; ours means "no limit". */
static void test_iterator_limit_zero_runs_all(void **state)
{
    static const ChildPlan plan = {"z", 0, 50, NULL, 0, 0};
    ChildPlan plans[6];
    ProcReact_FutureIterator it;
    Ctx ctx;
    int i;
    (void)state;
    for (i = 0; i < 6; ++i)
        plans[i] = plan;
    ctx_init(&ctx, &it, plans, 6);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 0);
    assert_int_equal(ctx.completed, 6);
    assert_int_equal(ctx.max_running, 6);
    for (i = 0; i < 6; ++i)
        assert_string_equal(ctx.results[i], "z");
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_iterator_runs_all),
        T_TEST(test_iterator_spawn_and_buffer_by_hand),
        T_TEST(test_iterator_failed_children),
        T_TEST(test_iterator_fork_fail_completions),
        T_TEST(test_iterator_null_arguments),
        T_TEST(test_iterator_limit),
        T_TEST(test_iterator_limit_zero_runs_all),
    };
    return cmocka_run_group_tests_name("future_iterator", tests, NULL, NULL);
}
