/* SPDX-License-Identifier: MIT */
/*
 * Value semantics (issue "Value semantics"): custom types that end the
 * reading their own way, alone and in iterators. An append that returns -1
 * with a stale errno that looks retryable (item 3), a type that stops
 * reading while its child writes on (4), and a finalize that does not wait
 * for its child (10). Each scenario runs isolated, as values_test.h
 * explains.
 */
#include "values_test.h"

#include <procreact_future_iterator.h>

/* -------------------------------- 3. a custom append that returns -1 */

typedef struct {
    size_t got;
    int calls;
} Failing;

static int g_stale_errno;
static int g_finalized;

static void *failing_init(void) { return calloc(1, sizeof(Failing)); }

/* Reads once, then fails with a stale errno that looks retryable. */
static ssize_t failing_append(ProcReact_Type *type, void *state, int fd)
{
    Failing *s = (Failing *)state;
    char buf[3];
    (void)type;
    if (s->calls++ == 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0)
            s->got += (size_t)n;
        return n;
    }
    errno = g_stale_errno;
    return -1;
}

static void *counting_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    ++g_finalized;
    procreact_wait_for_exit_status(pid, status);
    return state;
}

static ProcReact_Type failing_type(void)
{
    ProcReact_Type type;
    memset(&type, 0, sizeof type);
    type.initialize = failing_init;
    type.append = failing_append;
    type.finalize = counting_finalize;
    return type;
}

static ProcReact_Future slow_talker(ProcReact_Type type)
{
    ProcReact_Future f = procreact_initialize_future(type);
    if (f.pid == 0) {
        int i;
        for (i = 0; i < 5; ++i) {
            t_write_str(f.fd, "0123456789");
            t_sleep_ms(20);
        }
        _exit(0);
    }
    return f;
}

static ProcReact_Future failing_next(void *data)
{
    ((Work *)data)->next++;
    return slow_talker(failing_type());
}

static void free_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    (void)status;
    ++((Work *)data)->right;
    free(future->result);
}

static int append_fails(void)
{
    static const int stale[] = {EINTR, EAGAIN};
    int i;
    for (i = 0; i < 2; ++i) {
        ProcReact_Status st;
        ProcReact_Future f;
        Failing *r;
        Work w = {0, 3, 0};
        ProcReact_FutureIterator it;
        g_stale_errno = stale[i];
        g_finalized = 0;
        f = slow_talker(failing_type());
        r = (Failing *)procreact_future_get(&f, &st); /* must end, not spin */
        CHECK(1 + 10 * i, r != NULL && r->got > 0 && g_finalized == 1);
        free(r);
        it = procreact_initialize_future_iterator(work_has_next, failing_next, free_complete, &w);
        procreact_fork_buffer_and_wait_in_parallel_limit(&it, 2);
        procreact_destroy_future_iterator(&it);
        CHECK(2 + 10 * i, w.right == 3 && g_finalized == 4);
    }
    CHECK(30, no_children_left());
    return 0;
}

static void test_append_failure_ends_reading(void **state)
{
    (void)state;
    assert_int_equal(isolated(append_fails, 10), 0);
}

/* -------------------------------- 4. a type that stops reading early */

typedef struct {
    char head[10];
    size_t got;
} Head;

static int g_head_kills;

static void *head_init(void) { return calloc(1, sizeof(Head)); }

static ssize_t head_append(ProcReact_Type *type, void *state, int fd)
{
    Head *h = (Head *)state;
    ssize_t n;
    (void)type;
    if (h->got == sizeof h->head)
        return 0; /* enough: reading ends */
    n = read(fd, h->head + h->got, sizeof h->head - h->got);
    if (n > 0)
        h->got += (size_t)n;
    return n;
}

static void *head_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    if (g_head_kills)
        kill(pid, SIGTERM);
    procreact_wait_for_exit_status(pid, status);
    return state;
}

/* A child that writes forever: it ends only when its reader goes away. */
static ProcReact_Future endless(void)
{
    ProcReact_Type type;
    ProcReact_Future f;
    memset(&type, 0, sizeof type);
    type.initialize = head_init;
    type.append = head_append;
    type.finalize = head_finalize;
    f = procreact_initialize_future(type);
    if (f.pid == 0) {
        static char chunk[65536];
        memset(chunk, 'y', sizeof chunk);
        signal(SIGPIPE, SIG_DFL);
        while (write(f.fd, chunk, sizeof chunk) > 0)
            ;
        _exit(0);
    }
    return f;
}

static ProcReact_Future endless_next(void *data)
{
    ((Work *)data)->next++;
    return endless();
}

static int head_stops(void)
{
    for (g_head_kills = 1; g_head_kills >= 0; --g_head_kills) {
        ProcReact_Status st;
        ProcReact_Future f = endless();
        Head *h = (Head *)procreact_future_get(&f, &st); /* must not hang */
        Work w = {0, 3, 0};
        ProcReact_FutureIterator it;
        CHECK(1, h != NULL && h->got == 10 && memcmp(h->head, "yyyyyyyyyy", 10) == 0);
        free(h);
        it = procreact_initialize_future_iterator(work_has_next, endless_next, free_complete, &w);
        procreact_fork_in_parallel_buffer_and_wait(&it);
        procreact_destroy_future_iterator(&it);
        CHECK(2, w.right == 3);
    }
    CHECK(3, no_children_left());
    return 0;
}

static void test_early_stop_does_not_hang(void **state)
{
    (void)state;
    assert_int_equal(isolated(head_stops, 10), 0);
}

/* --------------------------- 10. a finalize that does not wait */

static void *no_wait_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    (void)pid;
    *status = PROCREACT_STATUS_OK;
    return state;
}

static ProcReact_Future no_wait_future(void)
{
    ProcReact_Type type = procreact_create_bytes_type();
    ProcReact_Future f;
    type.finalize = no_wait_finalize;
    f = procreact_initialize_future(type);
    if (f.pid == 0)
        t_exec_writer(f.fd, "zz", 0);
    return f;
}

static ProcReact_Future no_wait_next(void *data)
{
    ((Work *)data)->next++;
    return no_wait_future();
}

static void free_bytes_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    ProcReact_BytesState *b = (ProcReact_BytesState *)future->result;
    (void)status;
    ++((Work *)data)->right;
    if (b != NULL)
        free(b->data);
    free(b);
}

/* No zombie may stay, in either mode, once the library has been called again. */
static int settled(pid_t pid)
{
    int tries;
    for (tries = 0; tries < 100; ++tries) {
        siginfo_t info;
        ProcReact_Status st;
        ProcReact_Future probe = writer("", 0);
        free(procreact_future_get(&probe, &st));
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD)
            return 1;
        t_sleep_ms(10);
    }
    return 0;
}

static int finalize_without_wait(void)
{
    ProcReact_Status st;
    ProcReact_Future f = no_wait_future();
    const pid_t pid = f.pid;
    ProcReact_BytesState *b = (ProcReact_BytesState *)procreact_future_get(&f, &st);
    Work w = {0, 3, 0};
    ProcReact_FutureIterator it;
    free(b != NULL ? b->data : NULL);
    free(b);
    CHECK(1, settled(pid));
    it = procreact_initialize_future_iterator(work_has_next, no_wait_next, free_bytes_complete, &w);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    procreact_destroy_future_iterator(&it);
    CHECK(2, w.right == 3);
    CHECK(3, settled(pid) && no_children_left());
    return 0;
}

static void test_finalize_without_wait_leaves_no_zombie(void **state)
{
    (void)state;
    assert_int_equal(isolated(finalize_without_wait, 20), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_failure_ends_reading),
        cmocka_unit_test(test_early_stop_does_not_hang),
        cmocka_unit_test(test_finalize_without_wait_leaves_no_zombie),
    };
    return cmocka_run_group_tests_name("values_types", tests, NULL, NULL);
}
