/* SPDX-License-Identifier: MIT */
/*
 * procreact_future_iterator.h: many futures at once. Covers upstream defect 1
 * (a quiet child stalls its siblings), the busy loop in
 * `while (procreact_buffer(&it) > 0);`, EINTR (3), a client's one-read
 * append (7), descriptors inherited by siblings (8), limit 0 and zombies left
 * by procreact_destroy_future_iterator() (9), and FORK_FAIL completions.
 */
#include "test.h"

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_types.h>

#define MAX_CHILDREN 32

/* What one child does: optionally write, close its pipe, pause, write
 * again, then exit with a code or die by a signal. */
typedef struct {
    const char *first;
    int close_early;
    long pause_ms;
    const char *second;
    int exit_code;
    int signo;
} ChildPlan;

typedef struct {
    const ChildPlan *plans;
    int total;
    int next_index;
    int fail_every; /* > 0: every n-th element is a failed future */
    ProcReact_FutureIterator *it;
    ProcReact_Type type;
    pid_t pids[MAX_CHILDREN];
    int completed;
    int order[MAX_CHILDREN];
    int done[MAX_CHILDREN];
    ProcReact_Status statuses[MAX_CHILDREN];
    char *results[MAX_CHILDREN];
    /* At completion k: which other children had exited (bit per index). */
    unsigned long exited_when_completed[MAX_CHILDREN];
    unsigned running_when_completed[MAX_CHILDREN];
    unsigned max_running;
    int fork_fails;
} Ctx;

static void run_plan(int fd, const ChildPlan *plan)
{
    t_child_quiet();
    if (plan->first != NULL && t_write_str(fd, plan->first) != 0)
        _exit(120);
    if (plan->close_early)
        close(fd);
    t_sleep_ms(plan->pause_ms);
    if (!plan->close_early && plan->second != NULL && t_write_str(fd, plan->second) != 0)
        _exit(121);
    if (plan->signo != 0)
        t_die_by_signal(plan->signo);
    _exit(plan->exit_code);
}

static ProcReact_bool ctx_has_next(void *data)
{
    Ctx *ctx = (Ctx *)data;
    return ctx->next_index < ctx->total;
}

static ProcReact_Future ctx_next(void *data)
{
    Ctx *ctx = (Ctx *)data;
    const int index = ctx->next_index++;
    ProcReact_Future future;
    if (ctx->fail_every > 0 && index % ctx->fail_every == ctx->fail_every - 1) {
        /* A failed future: a type refused by procreact_initialize_future()
         * on odd failures, a hand-built pid -1 future on even ones. */
        if (index % 2) {
            ProcReact_Type broken = ctx->type;
            broken.append = NULL;
            future = procreact_initialize_future(broken);
        } else {
            memset(&future, 0, sizeof future);
            future.pid = -1;
            future.fd = -1;
            future.type = ctx->type;
        }
        ctx->pids[index] = -1;
        return future;
    }
    if (ctx->it != NULL && ctx->it->running_processes + 1 > ctx->max_running)
        ctx->max_running = ctx->it->running_processes + 1;
    future = procreact_initialize_future(ctx->type);
    if (future.pid == 0)
        run_plan(future.fd, &ctx->plans[index]);
    ctx->pids[index] = future.pid;
    return future;
}

static void ctx_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Ctx *ctx = (Ctx *)data;
    int index = -1, i;
    unsigned long exited = 0;
    if (future->pid <= 0) {
        /* A failed future is completed at once by the spawn that made it. */
        index = ctx->next_index - 1;
        ++ctx->fork_fails;
    } else {
        for (i = 0; i < ctx->next_index; ++i)
            if (ctx->pids[i] == future->pid)
                index = i;
    }
    if (index < 0 || ctx->done[index]) {
        /* Unknown or completed twice: recorded so that counts fail. */
        ctx->order[ctx->completed++ % MAX_CHILDREN] = -1;
        return;
    }
    for (i = 0; i < ctx->next_index; ++i)
        if (i != index && ctx->pids[i] > 0 && (ctx->done[i] || t_child_has_exited(ctx->pids[i])))
            exited |= 1ul << i;
    ctx->done[index] = 1;
    ctx->exited_when_completed[index] = exited;
    ctx->running_when_completed[index] = ctx->it != NULL ? ctx->it->running_processes : 0;
    ctx->statuses[index] = status;
    ctx->results[index] = (char *)future->result;
    ctx->order[ctx->completed++] = index;
}

static void ctx_init(Ctx *ctx, ProcReact_FutureIterator *it, const ChildPlan *plans, int total)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->plans = plans;
    ctx->total = total;
    ctx->it = it;
    ctx->type = procreact_create_string_type();
    *it = procreact_initialize_future_iterator(ctx_has_next, ctx_next, ctx_complete, ctx);
}

static void ctx_free(Ctx *ctx)
{
    int i;
    for (i = 0; i < MAX_CHILDREN; ++i)
        free(ctx->results[i]);
}

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
        T_TEST(test_iterator_runs_all),
        T_TEST(test_iterator_spawn_and_buffer_by_hand),
        T_TEST(test_iterator_failed_children),
        T_TEST(test_iterator_fork_fail_completions),
        T_TEST(test_iterator_null_arguments),
        T_TEST(test_iterator_limit),
        T_TEST(test_iterator_limit_zero_runs_all),
        T_TEST(test_iterator_quiet_child_does_not_delay_sibling),
        T_TEST(test_iterator_buffer_sleeps_while_children_are_quiet),
        T_TEST(test_iterator_survives_eintr),
        T_TEST(test_iterator_exit_wait_survives_eintr),
        T_TEST(test_iterator_client_append_only_when_readable),
        T_TEST(test_iterator_destroy_kills_and_reaps),
        T_TEST(test_iterator_no_descriptor_leak),
        T_TEST(test_iterator_children_hold_no_library_descriptors),
    };
    return cmocka_run_group_tests_name("future_iterator", tests, NULL, NULL);
}
