/* SPDX-License-Identifier: MIT */
/*
 * Value semantics: what 0.1 clients do with the public structs, and what
 * must work as it did with 0.1 (issue "Value semantics", items 1-11). Here
 * the futures: stale copies got and destroyed (item 1), futures built by
 * hand, alone and in an iterator (2), and a read error in one (9). Custom
 * types: test_values_types.c; client-allocated states:
 * test_values_states.c; collections: test_values_collections.c. Each
 * scenario runs isolated, as values_test.h explains.
 */
#include "values_test.h"

#include <procreact_future_iterator.h>

/* ------------------------------------------------------ 1. stale copies */

static int stale_get(void)
{
    ProcReact_Status st = PROCREACT_STATUS_OK;
    ProcReact_Future f = writer("one", 0), copy, g;
    char *r;
    copy = f;
    r = (char *)procreact_future_get(&copy, &st);
    CHECK(1, st == PROCREACT_STATUS_OK && r != NULL && strcmp(r, "one") == 0);
    free(r);
    g = writer("two", 200); /* its core may land where f's was */
    st = PROCREACT_STATUS_OK;
    CHECK(2, procreact_future_get(&f, &st) == NULL);
    CHECK(3, st == PROCREACT_STATUS_WAIT_FAIL);
    st = PROCREACT_STATUS_OK;
    CHECK(4, procreact_future_get(&f, &st) == NULL && st == PROCREACT_STATUS_WAIT_FAIL);
    r = (char *)procreact_future_get(&g, &st);
    CHECK(5, st == PROCREACT_STATUS_OK && r != NULL && strcmp(r, "two") == 0);
    free(r);
    CHECK(6, no_children_left());
    return 0;
}

static int stale_destroy(void)
{
    ProcReact_Status st = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_Future f = writer("one", 0), copy, g;
    struct stat before, after;
    int reopened;
    char *r;
    copy = f;
    r = (char *)procreact_future_get(&copy, &st);
    CHECK(1, r != NULL);
    free(r);
    /* The application reopens the number f's pipe had. */
    reopened = open("/dev/null", O_RDONLY);
    CHECK(2, reopened >= 0);
    if (reopened != f.fd) {
        CHECK(3, dup2(reopened, f.fd) == f.fd);
        close(reopened);
    }
    CHECK(4, fstat(f.fd, &before) == 0);
    g = writer("two", 200);
    procreact_destroy_future(&f); /* stale: must touch nothing */
    CHECK(5, fstat(f.fd, &after) == 0 && after.st_ino == before.st_ino && after.st_dev == before.st_dev);
    r = (char *)procreact_future_get(&g, &st);
    CHECK(6, st == PROCREACT_STATUS_OK && r != NULL && strcmp(r, "two") == 0);
    free(r);
    close(f.fd);
    CHECK(7, no_children_left());
    return 0;
}

static void test_stale_copy_get(void **state)
{
    (void)state;
    assert_int_equal(isolated(stale_get, 10), 0);
}

static void test_stale_copy_destroy(void **state)
{
    (void)state;
    assert_int_equal(isolated(stale_destroy, 10), 0);
}

/* ----------------------------------------------- 2. hand-built futures */

/* A future the 0.1 way: the client's own pipe and fork, fields filled in
 * by hand, `state` zeroed or garbage. */
static ProcReact_Future hand_built(const char *text, ProcReact_Type type, int garbage)
{
    ProcReact_Future f;
    int p[2];
    pid_t pid;
    if (pipe(p) != 0)
        _exit(90);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        t_exec_writer(p[1], text, 0);
    }
    close(p[1]);
    memset(&f, garbage ? 0xA5 : 0, sizeof f);
    f.pid = pid;
    f.fd = p[0];
    f.type = type;
    f.result = NULL;
    return f;
}

static int g_inits;

static void *counting_init(void)
{
    ++g_inits;
    return procreact_type_initialize_bytes();
}

static int hand_built_get(void)
{
    ProcReact_Status st;
    int garbage;
    for (garbage = 0; garbage <= 1; ++garbage) {
        ProcReact_Future h = hand_built("hand", procreact_create_string_type(), garbage);
        char *r;
        st = PROCREACT_STATUS_FORK_FAIL;
        r = (char *)procreact_future_get(&h, &st);
        CHECK(1 + garbage, st == PROCREACT_STATUS_OK && r != NULL && strcmp(r, "hand") == 0);
        free(r);
    }
    {
        ProcReact_Type type = procreact_create_bytes_type();
        ProcReact_Future h;
        ProcReact_BytesState *b;
        type.initialize = counting_init;
        h = hand_built("counted", type, 1);
        g_inits = 0;
        b = (ProcReact_BytesState *)procreact_future_get(&h, &st);
        CHECK(3, g_inits == 1); /* get calls initialize, once */
        CHECK(4, b != NULL && b->data_size == 7 && memcmp(b->data, "counted", 7) == 0);
        free(b->data);
        free(b);
    }
    CHECK(5, no_children_left());
    return 0;
}

static ProcReact_Future hand_next(void *data)
{
    Work *w = (Work *)data;
    char text[16];
    snprintf(text, sizeof text, "h%d", w->next++);
    return hand_built(text, procreact_create_string_type(), 1);
}

static void string_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Work *w = (Work *)data;
    const char *r = (const char *)future->result;
    if (status == PROCREACT_STATUS_OK && r != NULL && r[0] == 'h' && atoi(r + 1) >= 0 && atoi(r + 1) < w->total)
        ++w->right;
    free(future->result);
}

static int hand_built_iterator(void)
{
    Work w = {0, 3, 0};
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(work_has_next, hand_next, string_complete, &w);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    procreact_destroy_future_iterator(&it);
    CHECK(1, w.right == 3);
    CHECK(2, no_children_left());
    return 0;
}

static void test_hand_built_get(void **state)
{
    (void)state;
    assert_int_equal(isolated(hand_built_get, 10), 0);
}

static void test_hand_built_in_iterator(void **state)
{
    (void)state;
    assert_int_equal(isolated(hand_built_iterator, 10), 0);
}

/* ---------------------------------------------- 9. read errors */

static int read_errors(void)
{
    const ProcReact_Type types[] = {procreact_create_bytes_type(), procreact_create_string_type(),
                                    procreact_create_string_array_type('\n')};
    int i;
    for (i = 0; i < 3; ++i) {
        ProcReact_Future f;
        ProcReact_Status st = PROCREACT_STATUS_OK;
        pid_t pid = t_fork_true();
        memset(&f, 0, sizeof f);
        f.pid = pid;
        f.fd = open(".", O_RDONLY | O_DIRECTORY); /* read() fails with EISDIR */
        f.type = types[i];
        CHECK(1 + 10 * i, f.fd >= 0);
        CHECK(2 + 10 * i, procreact_future_get(&f, &st) == NULL);
        CHECK(3 + 10 * i, st == PROCREACT_STATUS_READ_FAIL);
    }
    CHECK(40, no_children_left());
    return 0;
}

static void test_read_error_reported(void **state)
{
    (void)state;
    assert_int_equal(isolated(read_errors, 10), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_copy_get),
        cmocka_unit_test(test_stale_copy_destroy),
        cmocka_unit_test(test_hand_built_get),
        cmocka_unit_test(test_hand_built_in_iterator),
        cmocka_unit_test(test_read_error_reported),
    };
    return cmocka_run_group_tests_name("values", tests, NULL, NULL);
}
