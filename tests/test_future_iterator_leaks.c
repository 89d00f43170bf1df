/* SPDX-License-Identifier: MIT */
/*
 * procreact_future_iterator.h: nothing left behind.
 * procreact_destroy_future_iterator() kills and reaps running children and
 * leaves no zombie (upstream defect 9), runs with failed futures leak no
 * descriptor, and no child holds a write end of the library's (8).
 */
#include "future_iterator_test.h"

/* ------------------------------------------------- destroy, zombies (9) */

static void test_iterator_destroy_kills_and_reaps(void **state)
{
    static const ChildPlan sleepy = {"zz", 0, 30000, NULL, 0, 0};
    static const ChildPlan quick[] = {{"again", 0, 0, NULL, 0, 0}, {"more", 0, 0, NULL, 0, 0}};
    ChildPlan plans[4];
    ProcReact_FutureIterator it;
    Ctx ctx;
    int i, fds_before;
    double start;
    (void)state;
    for (i = 0; i < 4; ++i)
        plans[i] = sleepy;
    fds_before = t_count_fds();
    ctx_init(&ctx, &it, plans, 4);
    for (i = 0; i < 4; ++i)
        assert_true(procreact_spawn_next_future(&it));
    assert_int_equal(it.running_processes, 4);
    t_sleep_ms(20);
    start = t_now();
    procreact_destroy_future_iterator(&it);
    assert_true(t_now() - start < 10.0);
    assert_int_equal(ctx.completed, 0); /* no completion for abandoned children */
    assert_int_equal(it.running_processes, 0);
    assert_true(t_no_children());
    for (i = 0; i < 4; ++i)
        assert_false(t_pid_exists(ctx.pids[i]));
    assert_int_equal(t_count_fds(), fds_before);

    /* The iterator can be used again afterwards, as if new. */
    ctx.plans = quick;
    ctx.total = 2;
    ctx.next_index = 0;
    memset(ctx.pids, 0, sizeof ctx.pids);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    assert_int_equal(ctx.completed, 2);
    assert_string_equal(ctx.results[0], "again");
    assert_string_equal(ctx.results[1], "more");
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
    assert_int_equal(t_count_fds(), fds_before);
}

static void test_iterator_no_descriptor_leak(void **state)
{
    static const ChildPlan plan = {"leak?", 0, 0, NULL, 0, 0};
    ChildPlan plans[MAX_CHILDREN];
    ProcReact_FutureIterator it;
    Ctx ctx;
    int i, before, round;
    (void)state;
    for (i = 0; i < MAX_CHILDREN; ++i)
        plans[i] = plan;
    before = t_count_fds();
    for (round = 0; round < 3; ++round) {
        ctx_init(&ctx, &it, plans, MAX_CHILDREN);
        ctx.fail_every = 5;
        procreact_fork_buffer_and_wait_in_parallel_limit(&it, 7);
        assert_int_equal(ctx.completed, MAX_CHILDREN);
        procreact_destroy_future_iterator(&it);
        ctx_free(&ctx);
    }
    assert_int_equal(t_count_fds(), before);
}

/* ------------------------------------------ inherited descriptors (8) */

static FdSet g_baseline;
static int g_app_fd;

/* In a child: 0 when no descriptor the library opened is open here (its
 * own result pipe excepted) and the application's descriptor is. */
static int descriptor_verdict(int own_fd)
{
    int fd;
    /* g_baseline is what was open before the iterator existed; whatever the
     * parent had open beyond it at this child's fork belonged to the library.
     * Its read ends, pidfds and epoll instance may be inherited (they harm
     * nobody and are close-on-exec); a write end of another future may not:
     * it would keep that future's read from ever ending. */
    for (fd = 0; fd < 1024; ++fd)
        if (!g_baseline.open[fd] && fd != own_fd && t_fd_is_pipe_writer(fd))
            return 100 + fd;
    if (!t_fd_is_open(g_app_fd))
        return 2;
    return 0;
}

typedef struct {
    int index;
    pid_t pids[3];
} ProbeCtx;

static ProcReact_bool probe_has_next(void *data)
{
    return ((ProbeCtx *)data)->index < 3;
}

static ProcReact_Future probe_next(void *data)
{
    ProbeCtx *ctx = (ProbeCtx *)data;
    const int index = ctx->index++;
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == 0) {
        if (index < 2) {
            t_sleep_ms(30000); /* pending siblings */
            _exit(0);
        }
        dprintf(future.fd, "%d", descriptor_verdict(future.fd));
        _exit(0);
    }
    ctx->pids[index] = future.pid;
    return future;
}

static char *g_probe_result;

static void probe_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    (void)data;
    (void)status;
    g_probe_result = (char *)future->result;
}

static void test_iterator_children_hold_no_library_descriptors(void **state)
{
    ProcReact_FutureIterator it;
    ProbeCtx ctx;
    pid_t app_child;
    int wstatus;
    (void)state;
    g_app_fd = open("/dev/null", O_RDONLY); /* the application's, inheritable */
    assert_true(g_app_fd >= 0);
    t_fd_snapshot(&g_baseline);
    memset(&ctx, 0, sizeof ctx);
    g_probe_result = NULL;
    it = procreact_initialize_future_iterator(probe_has_next, probe_next, probe_complete, &ctx);
    /* Two pending siblings (pipes, pidfds, the iterator's epoll), then the probe. */
    assert_true(procreact_spawn_next_future(&it));
    assert_true(procreact_spawn_next_future(&it));

    /* A child the application forks meanwhile holds none of them either. */
    app_child = fork();
    assert_true(app_child >= 0);
    if (app_child == 0)
        _exit(descriptor_verdict(-1));
    wstatus = t_reap(app_child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);

    assert_true(procreact_spawn_next_future(&it));
    while (g_probe_result == NULL && procreact_buffer(&it) > 2)
        ;
    assert_non_null(g_probe_result);
    /* "0": clean; "2": the application's descriptor was closed; "100+n":
     * a library write end n leaked into the probe child. */
    assert_string_equal(g_probe_result, "0");
    free(g_probe_result);
    assert_int_equal(it.running_processes, 2);
    procreact_destroy_future_iterator(&it);
    close(g_app_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_iterator_destroy_kills_and_reaps),
        T_TEST(test_iterator_no_descriptor_leak),
        T_TEST(test_iterator_children_hold_no_library_descriptors),
    };
    return cmocka_run_group_tests_name("future_iterator_leaks", tests, NULL, NULL);
}
