/* SPDX-License-Identifier: MIT */
/*
 * procreact_signal.h: the SIGCHLD handler and the main-loop step. Covers
 * upstream defect 10 (the handler replaced the application's, and one global
 * flag served every iterator) and defect 2 for
 * procreact_complete_all_finished_processes() (wait() reaped foreign
 * children).
 *
 * The handler is registered once per process, so the chaining test runs
 * first and the others run with the handler installed, as a program would.
 */
#include <procreact_pid_iterator.h>
#include <procreact_future.h>
#include <procreact_signal.h>

#include "test.h"

static volatile sig_atomic_t g_app_sigchld;

static void app_sigchld_handler(int signo)
{
    (void)signo;
    ++g_app_sigchld;
}

static void test_register_keeps_application_handler(void **state)
{
    struct sigaction app, now, again;
    pid_t child;
    int wstatus;
    double deadline;
    (void)state;
    memset(&app, 0, sizeof app);
    app.sa_handler = app_sigchld_handler;
    app.sa_flags = SA_RESTART;
    sigemptyset(&app.sa_mask);
    assert_int_equal(sigaction(SIGCHLD, &app, NULL), 0);

    assert_int_equal(procreact_register_signal_handler(), 0);
    assert_int_equal(sigaction(SIGCHLD, NULL, &now), 0);
    /* The library's handler is in place, restarting, without stop notifications. */
    if ((now.sa_flags & SA_SIGINFO) != 0)
        assert_true(now.sa_sigaction != NULL);
    else
        assert_true(now.sa_handler != app_sigchld_handler && now.sa_handler != SIG_DFL &&
                    now.sa_handler != SIG_IGN);
    assert_true((now.sa_flags & SA_RESTART) != 0);
    assert_true((now.sa_flags & SA_NOCLDSTOP) != 0);

    /* ...and the application's handler still hears about its children. */
    g_app_sigchld = 0;
    child = t_fork_sleeper(0, 7);
    assert_true(child > 0);
    deadline = t_now() + 10.0;
    while (g_app_sigchld == 0 && t_now() < deadline)
        t_sleep_ms(1);
    assert_true(g_app_sigchld > 0);
    /* The handler chain did not reap the child behind the application's back. */
    wstatus = t_reap(child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 7);

    /* Registering again changes nothing. */
    assert_int_equal(procreact_register_signal_handler(), 0);
    assert_int_equal(sigaction(SIGCHLD, NULL, &again), 0);
    assert_true(again.sa_flags == now.sa_flags);
    assert_true(again.sa_sigaction == now.sa_sigaction);
}

/* Calls procreact_complete_all_finished_processes() from a "main loop"
 * until @p ctx has @p want completions or 10 s pass. */
static void main_loop_until(ProcReact_PidIterator *it, PidCtx *ctx, int want)
{
    const double deadline = t_now() + (t_under_valgrind() ? 60.0 : 10.0);
    while (ctx->completed < want && t_now() < deadline) {
        procreact_complete_all_finished_processes(it);
        t_sleep_ms(2);
    }
}

static void test_complete_all_finished_processes(void **state)
{
    static const PidPlan plans[] = {{0, 3, 0}, {100, 4, 0}, {200, 0, SIGKILL}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    int k;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 3, NULL);
    while (procreact_spawn_next_pid(&it))
        ;
    assert_int_equal(it.running_processes, 3);
    main_loop_until(&it, &ctx, 3);
    assert_int_equal(ctx.completed, 3);
    assert_int_equal(it.running_processes, 0);
    t_pid_assert_own_completions(&ctx);
    k = t_pid_completion(&ctx, ctx.pids[0]);
    assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_OK);
    assert_int_equal(ctx.done_result[k], 3);
    k = t_pid_completion(&ctx, ctx.pids[1]);
    assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_OK);
    assert_int_equal(ctx.done_result[k], 4);
    k = t_pid_completion(&ctx, ctx.pids[2]);
    assert_int_equal(ctx.done_status[k], PROCREACT_STATUS_ABNORMAL_TERMINATION);
    assert_int_equal(ctx.done_result[k], -1);
    /* Nothing left: another call completes nothing. */
    procreact_complete_all_finished_processes(&it);
    assert_int_equal(ctx.completed, 3);
}

static void test_complete_all_does_not_block(void **state)
{
    static const PidPlan plans[] = {{30000, 0, 0}, {30000, 0, 0}};
    ProcReact_PidIterator it;
    PidCtx ctx;
    double start;
    int i;
    (void)state;
    t_pid_ctx_init(&ctx, &it, plans, 2, NULL);
    while (procreact_spawn_next_pid(&it))
        ;
    start = t_now();
    for (i = 0; i < 20; ++i)
        procreact_complete_all_finished_processes(&it);
    assert_true(t_now() - start < 5.0);
    assert_int_equal(ctx.completed, 0);
    assert_int_equal(it.running_processes, 2);
    procreact_destroy_pid_iterator(&it);
    assert_true(t_no_children());
}

/* Upstream: one global "a child finished" flag and wait(): the first
 * iterator to look took every finished child, its neighbour's included. */
static void test_two_iterators_see_only_their_own(void **state)
{
    static const PidPlan first[] = {{150, 11, 0}, {250, 12, 0}};
    static const PidPlan second[] = {{0, 21, 0}, {50, 22, 0}, {100, 23, 0}};
    ProcReact_PidIterator a, b;
    PidCtx ca, cb;
    pid_t foreign;
    int wstatus, i;
    (void)state;
    foreign = t_fork_sleeper(0, 99);
    assert_true(foreign > 0);
    t_pid_ctx_init(&ca, &a, first, 2, NULL);
    t_pid_ctx_init(&cb, &b, second, 3, NULL);
    while (procreact_spawn_next_pid(&a))
        ;
    while (procreact_spawn_next_pid(&b))
        ;
    /* Only a's loop runs while all of b's children (and ours) finish. */
    main_loop_until(&a, &ca, 2);
    assert_int_equal(ca.completed, 2);
    t_pid_assert_own_completions(&ca);
    assert_int_equal(cb.completed, 0);
    assert_int_equal(b.running_processes, 3);

    main_loop_until(&b, &cb, 3);
    assert_int_equal(cb.completed, 3);
    t_pid_assert_own_completions(&cb);
    for (i = 0; i < 3; ++i) {
        int k = t_pid_completion(&cb, cb.pids[i]);
        assert_true(k >= 0);
        assert_int_equal(cb.done_result[k], second[i].exit_code);
        assert_int_equal(cb.done_status[k], PROCREACT_STATUS_OK);
    }
    for (i = 0; i < 2; ++i) {
        int k = t_pid_completion(&ca, ca.pids[i]);
        assert_true(k >= 0);
        assert_int_equal(ca.done_result[k], first[i].exit_code);
    }
    /* The application's own child was left to the application. */
    wstatus = t_reap(foreign);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 99);
}

/* Interleaved main loops: completions arrive whichever loop looks first,
 * each at its own iterator. */
static void test_two_iterators_interleaved(void **state)
{
    static const PidPlan first[] = {{0, 1, 0}, {60, 2, 0}, {120, 3, 0}};
    static const PidPlan second[] = {{30, 4, 0}, {90, 5, 0}, {150, 6, 0}};
    ProcReact_PidIterator a, b;
    PidCtx ca, cb;
    double deadline;
    (void)state;
    t_pid_ctx_init(&ca, &a, first, 3, NULL);
    t_pid_ctx_init(&cb, &b, second, 3, NULL);
    while (procreact_spawn_next_pid(&a))
        ;
    while (procreact_spawn_next_pid(&b))
        ;
    deadline = t_now() + (t_under_valgrind() ? 60.0 : 10.0);
    while ((ca.completed < 3 || cb.completed < 3) && t_now() < deadline) {
        procreact_complete_all_finished_processes(&a);
        procreact_complete_all_finished_processes(&b);
        t_sleep_ms(1);
    }
    assert_int_equal(ca.completed, 3);
    assert_int_equal(cb.completed, 3);
    t_pid_assert_own_completions(&ca);
    t_pid_assert_own_completions(&cb);
    assert_int_equal(a.running_processes, 0);
    assert_int_equal(b.running_processes, 0);
}

static void test_complete_all_null(void **state)
{
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(NULL, NULL, NULL, NULL, NULL);
    (void)state;
    procreact_complete_all_finished_processes(NULL);
    procreact_complete_all_finished_processes(&it);
    assert_int_equal(it.running_processes, 0);
}

/* Runs in a fresh image (the handler is installed once per process): the
 * application ignored SIGCHLD, so the kernel reaped its children at once;
 * registering the handler ends that, as the header documents. Exit codes:
 * 0 as documented, 1-9 which promise broke. */
static int sig_ign_scenario(void)
{
    struct sigaction ign;
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result;
    pid_t child;
    int wstatus = 0;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGCHLD, &ign, NULL) != 0 || procreact_register_signal_handler() != 0)
        return 1;
    /* The application's own child is no longer reaped behind its back: it
     * stays waitable, with its status. */
    child = t_fork_sleeper(0, 5);
    t_sleep_ms(100);
    if (waitpid(child, &wstatus, 0) != child || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 5)
        return 2;
    /* And the library's futures get their exit status (under SIG_IGN the
     * kernel would have reaped them first: WAIT_FAIL). */
    future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == 0)
        t_exec_writer(future.fd, "still mine", 0);
    result = (char *)procreact_future_get(&future, &status);
    if (status != PROCREACT_STATUS_OK || result == NULL || strcmp(result, "still mine") != 0)
        return 3;
    free(result);
    return 0;
}

static char *g_self;

static void test_register_over_sig_ign_ends_auto_reaping(void **state)
{
    pid_t child;
    int wstatus;
    (void)state;
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char *const args[] = {g_self, (char *)"--sig-ign-scenario", NULL};
        execv(g_self, args); /* not /proc/self/exe: under valgrind that is valgrind */
        _exit(127);
    }
    wstatus = t_reap(child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
}

int main(int argc, char **argv)
{
    g_self = argv[0];
    if (argc > 1 && strcmp(argv[1], "--sig-ign-scenario") == 0)
        return sig_ign_scenario();
    const struct CMUnitTest tests[] = {
        T_TEST(test_register_keeps_application_handler),
        T_TEST(test_complete_all_finished_processes),
        T_TEST(test_complete_all_does_not_block),
        T_TEST(test_two_iterators_see_only_their_own),
        T_TEST(test_two_iterators_interleaved),
        T_TEST(test_complete_all_null),
        T_TEST(test_register_over_sig_ign_ends_auto_reaping),
    };
    return cmocka_run_group_tests_name("signal", tests, NULL, NULL);
}
