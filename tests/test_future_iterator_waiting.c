/* SPDX-License-Identifier: MIT */
/*
 * procreact_future_iterator.h: how it waits for many children. A quiet
 * child does not delay its siblings (upstream defect 1), no busy loop in
 * `while (procreact_buffer(&it) > 0);`, EINTR (3), and a client's append
 * that reads once per call is called only when its pipe is readable (7).
 */
#include "future_iterator_test.h"

/* -------------------------------------------- concurrent waiting (1) */

/* The slow children come first: upstream blocks in a read on the first
 * child's pipe, so the quick one completed only after them. */
static void test_iterator_quiet_child_does_not_delay_sibling(void **state)
{
    static const ChildPlan plans[] = {
        {NULL, 0, 3000, "slow", 0, 0},    /* quiet, then writes */
        {"part", 0, 3000, "ial", 0, 0},   /* writes, goes quiet, writes again */
        {"closed", 1, 3000, NULL, 0, 0},  /* closes its pipe, keeps running */
        {"quick", 0, 0, NULL, 0, 0},
    };
    ProcReact_FutureIterator it;
    Ctx ctx;
    (void)state;
    ctx_init(&ctx, &it, plans, 4);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    assert_int_equal(ctx.completed, 4);
    /* The quick child completed first, while the three slow ones still ran. */
    assert_int_equal(ctx.order[0], 3);
    assert_int_equal(ctx.exited_when_completed[3] & 0x7ul, 0);
    assert_int_equal(ctx.running_when_completed[3], 3);
    assert_string_equal(ctx.results[3], "quick");
    assert_string_equal(ctx.results[0], "slow");
    assert_string_equal(ctx.results[1], "partial");
    /* A closed pipe does not complete a child that still runs. */
    assert_string_equal(ctx.results[2], "closed");
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

/* ------------------------------------------------------ no busy loop */

static void check_buffer_sleeps(const ChildPlan *plan)
{
    ProcReact_FutureIterator it;
    Ctx ctx;
    double wall, cpu;
    ctx_init(&ctx, &it, plan, 1);
    assert_true(procreact_spawn_next_future(&it));
    wall = t_now();
    cpu = t_cpu();
    while (procreact_buffer(&it) > 0)
        ;
    cpu = t_cpu() - cpu;
    wall = t_now() - wall;
    assert_int_equal(ctx.completed, 1);
    assert_int_equal(ctx.statuses[0], PROCREACT_STATUS_OK);
    assert_true(wall >= 0.8); /* the child really was quiet for a second */
    if (!(cpu < 0.2 * wall))
        fail_msg("procreact_buffer used %.3f s of CPU in %.3f s", cpu, wall);
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

static void test_iterator_buffer_sleeps_while_children_are_quiet(void **state)
{
    static const ChildPlan quiet = {"q", 0, 1000, "uiet", 0, 0};
    static const ChildPlan closed = {"c", 1, 1000, NULL, 0, 0};
    (void)state;
    check_buffer_sleeps(&quiet);
    /* Pipe closed but the child still runs: waiting for its exit must not
     * spin either (in fallback mode it is polled with a back-off). */
    check_buffer_sleeps(&closed);
}

/* ------------------------------------------------------------ EINTR (3) */

static void test_iterator_survives_eintr(void **state)
{
    static const ChildPlan plans[] = {
        {"alpha-", 0, 300, "omega", 0, 0}, {"", 0, 200, "beta", 0, 0}, {"gamma", 0, 400, NULL, 5, 0},
    };
    ProcReact_FutureIterator it;
    Ctx ctx;
    long signals;
    (void)state;
    ctx_init(&ctx, &it, plans, 3);
    t_storm_start(1000);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    signals = t_storm_stop();
    assert_true(signals >= 5);
    assert_int_equal(ctx.completed, 3);
    assert_string_equal(ctx.results[0], "alpha-omega");
    assert_int_equal(ctx.statuses[0], PROCREACT_STATUS_OK);
    assert_string_equal(ctx.results[1], "beta");
    assert_int_equal(ctx.statuses[1], PROCREACT_STATUS_OK);
    assert_null(ctx.results[2]);
    assert_int_equal(ctx.statuses[2], PROCREACT_STATUS_OK);
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

/* A child that closed its pipe is still awaited (in fallback mode by polling
 * with a back-off). Signals must not restart that wait's timeout in full
 * each time, or the iterator never sees the exit while they keep coming. */
static void test_iterator_exit_wait_survives_eintr(void **state)
{
    static const ChildPlan plans[] = {{"closed", 1, 300, NULL, 0, 0}};
    ProcReact_FutureIterator it;
    Ctx ctx;
    long signals;
    int round;
    (void)state;
    /* A livelocked wait ends only when the signals pause by chance, so a
     * few rounds make the failure likely rather than certain. */
    for (round = 0; round < 3; ++round) {
        ctx_init(&ctx, &it, plans, 1);
        t_storm_start_for(250, 2); /* a 0.3 s child: 2 s is plenty */
        procreact_fork_in_parallel_buffer_and_wait(&it);
        signals = t_storm_stop();
        assert_true(signals >= 5);
        assert_int_equal(ctx.completed, 1);
        assert_string_equal(ctx.results[0], "closed");
        assert_int_equal(ctx.statuses[0], PROCREACT_STATUS_OK);
        procreact_destroy_future_iterator(&it);
        ctx_free(&ctx);
    }
}

/* ------------------------------------------ a client's own append (7) */

typedef struct {
    char buf[256];
    size_t len;
} ClientState;

static int g_unreadable_appends;
static int g_early_finalizes;

static void *client_initialize(void)
{
    return calloc(1, sizeof(ClientState));
}

/* Like 0.1 clients: one blocking read() per call. It records whether it
 * was called on a descriptor that had nothing to read. */
static ssize_t client_append(ProcReact_Type *type, void *state, int fd)
{
    ClientState *s = (ClientState *)state;
    struct pollfd p;
    ssize_t n;
    (void)type;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) != 1)
        ++g_unreadable_appends;
    n = read(fd, s->buf + s->len, sizeof s->buf - 1 - s->len);
    if (n > 0)
        s->len += (size_t)n;
    return n;
}

static void *client_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    if (!t_child_has_exited(pid))
        ++g_early_finalizes;
    if (!procreact_wait_for_boolean(pid, status)) {
        free(state);
        return NULL;
    }
    return state;
}

static void test_iterator_client_append_only_when_readable(void **state)
{
    static const ChildPlan plans[] = {
        {NULL, 0, 600, "late", 0, 0}, {"now", 0, 0, NULL, 0, 0}, {"a", 0, 300, "b", 0, 0},
    };
    ProcReact_FutureIterator it;
    Ctx ctx;
    (void)state;
    ctx_init(&ctx, &it, plans, 3);
    ctx.type.initialize = client_initialize;
    ctx.type.append = client_append;
    ctx.type.finalize = client_finalize;
    g_unreadable_appends = 0;
    g_early_finalizes = 0;
    procreact_fork_in_parallel_buffer_and_wait(&it);
    assert_int_equal(ctx.completed, 3);
    assert_int_equal(g_unreadable_appends, 0);
    assert_int_equal(g_early_finalizes, 0);
    assert_int_equal(ctx.order[0], 1);
    assert_string_equal(((ClientState *)ctx.results[0])->buf, "late");
    assert_string_equal(((ClientState *)ctx.results[1])->buf, "now");
    assert_string_equal(((ClientState *)ctx.results[2])->buf, "ab");
    procreact_destroy_future_iterator(&it);
    ctx_free(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_iterator_quiet_child_does_not_delay_sibling),
        T_TEST(test_iterator_buffer_sleeps_while_children_are_quiet),
        T_TEST(test_iterator_survives_eintr),
        T_TEST(test_iterator_exit_wait_survives_eintr),
        T_TEST(test_iterator_client_append_only_when_readable),
    };
    return cmocka_run_group_tests_name("future_iterator_waiting", tests, NULL, NULL);
}
