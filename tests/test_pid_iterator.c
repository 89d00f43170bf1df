/* SPDX-License-Identifier: MIT */
/*
 * procreact_pid_iterator.h: many processes, each waited for by its own pid.
 * Covers upstream defect 2 (wait() reaps children the library never
 * spawned), EINTR (3), the C++ linkage of this header (5, through the client
 * test), limit 0 (9), FORK_FAIL completions and abandoning an iterator.
 */
#include <procreact_pid_iterator.h>

#include "test.h"

static void test_pid_iterator_runs_all(void **state)
{
    static const PidPlan plans[] = {{30, 0, 0}, {0, 1, 0}, {60, 2, 0}, {10, 3, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    int i;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 4, NULL);
    procreact_fork_in_parallel_and_wait(&it);
    assert_int_equal(ctx.completed, 4);
    assert_int_equal(it.running_processes, 0);
    assert_int_equal(ctx.max_running, 4);
    t_pid_assert_own_completions(&ctx);
    for (i = 0; i < 4; ++i) {
        int k = t_pid_completion(&ctx, ctx.pids[i]);
        assert_true(k >= 0);
        assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_OK);
        assert_int_equal(ctx.done_result[k], plans[i].exit_code);
    }
}

static void test_pid_iterator_by_hand(void **state)
{
    static const PidPlan plans[] = {{50, 4, 0}, {0, 5, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 2, procreact_retrieve_exit_status);
    assert_true(procreact_spawn_next_pid(&it));
    assert_int_equal(it.running_processes, 1);
    assert_true(procreact_spawn_next_pid(&it));
    assert_int_equal(it.running_processes, 2);
    assert_false(procreact_spawn_next_pid(&it));
    assert_true(procreact_wait_for_process_to_complete(&it));
    assert_int_equal(ctx.completed, 1);
    assert_int_equal(it.running_processes, 1);
    assert_true(procreact_wait_for_process_to_complete(&it));
    assert_int_equal(ctx.completed, 2);
    assert_int_equal(it.running_processes, 0);
    assert_false(procreact_wait_for_process_to_complete(&it));
    /* The quick child (5) completes first. */
    assert_int_equal(ctx.done_result[0], 5);
    assert_int_equal(ctx.done_result[1], 4);
}

static void test_pid_iterator_retrieve_and_abnormal(void **state)
{
    static const PidPlan plans[] = {{0, 0, 0}, {0, 7, 0}, {0, 0, SIGSEGV}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    int k;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 3, procreact_retrieve_boolean);
    procreact_fork_in_parallel_and_wait(&it);
    assert_int_equal(ctx.completed, 3);
    k = t_pid_completion(&ctx, ctx.pids[0]);
    assert_true(ctx.done_result[k]);
    assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_OK);
    k = t_pid_completion(&ctx, ctx.pids[1]);
    assert_false(ctx.done_result[k]);
    assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_OK);
    k = t_pid_completion(&ctx, ctx.pids[2]);
    assert_false(ctx.done_result[k]);
    assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_ABNORMAL_TERMINATION);
}

static void test_pid_iterator_failed_spawns(void **state)
{
    static const PidPlan plans[] = {{0, -1000, 0}, {0, 3, 0}, {0, -1001, 0}, {0, -1002, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    int k;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 4, NULL);

    assert_true(procreact_spawn_next_pid(&it)); /* -1: a failed fork */
    assert_int_equal(ctx.completed, 1);
    assert_int_equal(ctx.done_pid[0], -1);
    assert_int_equal(ctx.done_status[0], PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(ctx.done_result[0], -1);
    assert_int_equal(it.running_processes, 0);

    assert_true(procreact_spawn_next_pid(&it)); /* a real child */
    assert_int_equal(it.running_processes, 1);

    assert_true(procreact_spawn_next_pid(&it)); /* 0 names no single process */
    assert_int_equal(ctx.completed, 2);
    assert_int_equal(ctx.done_status[1], PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(ctx.done_result[1], -1);

    assert_true(procreact_spawn_next_pid(&it)); /* not our child */
    assert_int_equal(ctx.completed, 3);
    assert_int_equal(ctx.done_pid[2], getppid());
    assert_int_equal(ctx.done_status[2], PROCREACT_STATUS_WAIT_FAIL);
    assert_int_equal(ctx.done_result[2], -1);
    assert_int_equal(it.running_processes, 1);

    while (procreact_wait_for_process_to_complete(&it))
        ;
    k = t_pid_completion(&ctx, ctx.pids[1]);
    assert_true(k >= 0);
    assert_int_equal(ctx.done_result[k], 3);
    assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_OK);
}

static void test_pid_iterator_null_arguments(void **state)
{
    ProcReact_PidIterator it;
    (void)state;
    assert_false(procreact_spawn_next_pid(NULL));
    assert_false(procreact_wait_for_process_to_complete(NULL));
    procreact_fork_in_parallel_and_wait(NULL);
    procreact_fork_and_wait_in_parallel_limit(NULL, 3);
    procreact_destroy_pid_iterator(NULL);

    it = procreact_initialize_pid_iterator(NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(it.running_processes, 0);
    assert_false(procreact_spawn_next_pid(&it));
    assert_false(procreact_wait_for_process_to_complete(&it));
    procreact_fork_in_parallel_and_wait(&it);
    procreact_destroy_pid_iterator(&it);
}

static void test_pid_iterator_without_complete_callback(void **state)
{
    static const PidPlan plans[] = {{0, 1, 0}, {10, 0, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 2, NULL);
    it.complete = NULL;
    procreact_fork_in_parallel_and_wait(&it);
    assert_int_equal(ctx.next_index, 2);
    assert_int_equal(it.running_processes, 0);
}

static void test_pid_iterator_limit(void **state)
{
    static const PidPlan plan = {80, 0, 0};
    PidPlan plans[6];
    ProcReact_PidIterator it;
    PidCtx ctx;
    int i;
    (void)state;
    for (i = 0; i < 6; ++i)
        plans[i] = plan;
    t_pid_ctx_init(&ctx, &it, plans, 6, NULL);
    procreact_fork_and_wait_in_parallel_limit(&it, 2);
    assert_int_equal(ctx.completed, 6);
    assert_int_equal(ctx.max_running, 2);
    t_pid_assert_own_completions(&ctx);

    /* Upstream looped forever with 0; ours means "no limit". */
    t_pid_ctx_init(&ctx, &it, plans, 6, NULL);
    procreact_fork_and_wait_in_parallel_limit(&it, 0);
    assert_int_equal(ctx.completed, 6);
    assert_int_equal(ctx.max_running, 6);
    t_pid_assert_own_completions(&ctx);
}

/* Upstream defect 2: wait() reaped whatever child finished first. */
static void test_pid_iterator_never_reaps_foreign_children(void **state)
{
    static const PidPlan plans[] = {{150, 1, 0}, {200, 2, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    pid_t before, during;
    int wstatus;
    (void)state;
    before = t_fork_sleeper(0, 42);
    assert_true(before > 0);
    t_pid_ctx_init(&ctx, &it, plans, 2, NULL);
    assert_true(procreact_spawn_next_pid(&it));
    during = t_fork_sleeper(20, 43); /* forked beside the iterator's children */
    assert_true(during > 0);
    assert_true(procreact_spawn_next_pid(&it));
    while (procreact_wait_for_process_to_complete(&it))
        ;
    assert_int_equal(ctx.completed, 2);
    t_pid_assert_own_completions(&ctx);

    wstatus = t_reap(before);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 42);
    wstatus = t_reap(during);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 43);
}

/* Two iterators used side by side: each waits only for its own. */
static void test_pid_iterators_side_by_side(void **state)
{
    static const PidPlan slow[] = {{250, 10, 0}, {300, 11, 0}};
    static const PidPlan fast[] = {{0, 20, 0}, {30, 21, 0}};
    ProcReact_PidIterator a, b;
    PidCtx ca, cb;
    (void)state;
    t_pid_ctx_init(&ca, &a, slow, 2, NULL);
    t_pid_ctx_init(&cb, &b, fast, 2, NULL);
    while (procreact_spawn_next_pid(&a))
        ;
    while (procreact_spawn_next_pid(&b))
        ;
    /* b's children finish first, but a must not see them. */
    while (procreact_wait_for_process_to_complete(&a))
        ;
    assert_int_equal(ca.completed, 2);
    t_pid_assert_own_completions(&ca);
    assert_int_equal(cb.completed, 0);
    assert_int_equal(b.running_processes, 2);
    while (procreact_wait_for_process_to_complete(&b))
        ;
    assert_int_equal(cb.completed, 2);
    t_pid_assert_own_completions(&cb);
    assert_int_equal(cb.done_result[t_pid_completion(&cb, cb.pids[0])], 20);
    assert_int_equal(cb.done_result[t_pid_completion(&cb, cb.pids[1])], 21);
}

static void test_pid_iterator_survives_eintr(void **state)
{
    static const PidPlan plans[] = {{200, 0, 0}, {350, 6, 0}, {100, 7, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    long signals;
    int i;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 3, NULL);
    t_storm_start(1000);
    procreact_fork_in_parallel_and_wait(&it);
    signals = t_storm_stop();
    assert_true(signals >= 5);
    assert_int_equal(ctx.completed, 3);
    for (i = 0; i < 3; ++i) {
        int k = t_pid_completion(&ctx, ctx.pids[i]);
        assert_true(k >= 0);
        assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_OK);
        assert_int_equal(ctx.done_result[k], plans[i].exit_code);
    }
}

static void test_pid_iterator_waits_without_spinning(void **state)
{
    static const PidPlan plans[] = {{1000, 0, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    double wall, cpu;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 1, NULL);
    assert_true(procreact_spawn_next_pid(&it));
    wall = t_now();
    cpu = t_cpu();
    while (procreact_wait_for_process_to_complete(&it))
        ;
    cpu = t_cpu() - cpu;
    wall = t_now() - wall;
    assert_int_equal(ctx.completed, 1);
    assert_true(wall >= 0.8);
    if (!(cpu < 0.2 * wall))
        fail_msg("waiting used %.3f s of CPU in %.3f s", cpu, wall);
}

static void test_pid_iterator_destroy_kills_and_reaps(void **state)
{
    static const PidPlan plans[] = {{30000, 0, 0}, {30000, 0, 0}, {30000, 0, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    double start;
    int i;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 3, NULL);
    while (procreact_spawn_next_pid(&it))
        ;
    assert_int_equal(it.running_processes, 3);
    start = t_now();
    procreact_destroy_pid_iterator(&it);
    assert_true(t_now() - start < 10.0);
    assert_int_equal(ctx.completed, 0);
    assert_int_equal(it.running_processes, 0);
    assert_true(t_no_children());
    for (i = 0; i < 3; ++i)
        assert_false(t_pid_exists(ctx.pids[i]));
    assert_false(procreact_wait_for_process_to_complete(&it));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_pid_iterator_runs_all),
        T_TEST(test_pid_iterator_by_hand),
        T_TEST(test_pid_iterator_retrieve_and_abnormal),
        T_TEST(test_pid_iterator_failed_spawns),
        T_TEST(test_pid_iterator_null_arguments),
        T_TEST(test_pid_iterator_without_complete_callback),
        T_TEST(test_pid_iterator_limit),
        T_TEST(test_pid_iterator_never_reaps_foreign_children),
        T_TEST(test_pid_iterators_side_by_side),
        T_TEST(test_pid_iterator_survives_eintr),
        T_TEST(test_pid_iterator_waits_without_spinning),
        T_TEST(test_pid_iterator_destroy_kills_and_reaps),
    };
    return cmocka_run_group_tests_name("pid_iterator", tests, NULL, NULL);
}
