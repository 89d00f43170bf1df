/* SPDX-License-Identifier: MIT */
/*
 * Suite 'badinput': types with NULL members (alone and in an iterator),
 * the building blocks with bad arguments, bad descriptors and NULL states,
 * and futures used the wrong way round. Each has the outcome the headers
 * document, and nothing crashes, hangs or leaks.
 */
#include "badinput_counts.h"

/* ---- types with NULL members ---- */

static void *my_init(void) { return calloc(1, 64); }

static ssize_t my_append(ProcReact_Type *type, void *state, int fd)
{
    (void)type;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 && state != NULL) {
        size_t *count = state;
        *count += (size_t)n;
    }
    return n;
}

static void *my_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    int ok = procreact_wait_for_boolean(pid, status);
    if (!ok) {
        free(state);
        return NULL;
    }
    if (state == NULL) {
        size_t *fresh = malloc(sizeof *fresh);
        *fresh = 12345;
        return fresh;
    }
    return state;
}

static void types_with_null_members(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    ProcReact_Type types[3];
    memset(types, 0, sizeof types);
    types[0].append = NULL; /* everything NULL */
    types[1].initialize = my_init;
    types[1].finalize = my_finalize; /* no append */
    types[2].initialize = my_init;
    types[2].append = my_append; /* no finalize */
    for (int k = 0; k < 3; ++k) {
        ProcReact_Future f = procreact_initialize_future(types[k]);
        if (f.pid == 0)
            _exit(0); /* must never happen: the type is refused before forking */
        assert_int_equal(f.pid, -1);
        assert_int_equal(f.fd, -1);
        ProcReact_Status st = PROCREACT_STATUS_OK;
        assert_null(procreact_future_get(&f, &st));
        assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
        procreact_destroy_future(&f);
    }
    assert_true(hard_no_children());

    /* initialize NULL is allowed: the state is NULL */
    ProcReact_Type t = { NULL, my_append, my_finalize, 0 };
    ProcReact_Future f = procreact_initialize_future(t);
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "abc", 3) == 0 ? 0 : 1);
    assert_true(f.pid > 0);
    ProcReact_Status st;
    size_t *res = procreact_future_get(&f, &st);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_non_null(res);
    assert_int_equal(*res, 12345);
    free(res);

    /* a custom type with a state */
    t.initialize = my_init;
    f = procreact_initialize_future(t);
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "abcdef", 6) == 0 ? 0 : 1);
    res = procreact_future_get(&f, &st);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_non_null(res);
    assert_int_equal(*res, 6);
    free(res);
    HARD_ASSERT_NO_LEAK(before);
}

static ProcReact_Future refused_next(void *data)
{
    (void)data;
    g_left--;
    ProcReact_Type none;
    memset(&none, 0, sizeof none);
    return procreact_initialize_future(none);
}

static void iterator_with_refused_types(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    g_left = 10;
    g_fork_fails = g_other = 0;
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(some_left, refused_next, count_complete, NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 3);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(g_fork_fails, 10);
    assert_int_equal(g_other, 0);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- the building blocks with bad arguments ---- */

static void building_blocks(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    ProcReact_Type bytes = procreact_create_bytes_type();
    ProcReact_Type arr = procreact_create_string_array_type('\n');

    errno = 0;
    assert_int_equal(procreact_type_append_bytes(&bytes, NULL, 0), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_type_append_strings_to_array(&arr, NULL, 0), -1);
    assert_int_equal(errno, EINVAL);

    /* a descriptor that is not open */
    void *bs = procreact_type_initialize_bytes();
    assert_non_null(bs);
    errno = 0;
    assert_int_equal(procreact_type_append_bytes(NULL, bs, -1), -1);
    assert_int_equal(errno, EBADF);
    void *as = procreact_type_initialize_string_array();
    assert_non_null(as);
    assert_int_equal(procreact_type_append_strings_to_array(NULL, as, 1000), -1);

    /* finalizing against a failed fork frees the state and reports it */
    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_null(procreact_type_finalize_bytes(bs, -1, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    st = PROCREACT_STATUS_OK;
    assert_null(procreact_type_finalize_string_array(as, -1, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    st = PROCREACT_STATUS_OK;
    assert_null(procreact_type_finalize_string(procreact_type_initialize_bytes(), -1, NULL));
    /* NULL states */
    assert_null(procreact_type_finalize_bytes(NULL, -1, &st));
    assert_null(procreact_type_finalize_string(NULL, -1, &st));
    assert_null(procreact_type_finalize_string_array(NULL, -1, NULL));

    /* NULL type for the string-array append means '\n' */
    int p[2];
    assert_int_equal(pipe(p), 0);
    as = procreact_type_initialize_string_array();
    assert_int_equal(hard_write_all(p[1], "a\nb", 3), 0);
    close(p[1]);
    while (procreact_type_append_strings_to_array(NULL, as, p[0]) > 0)
        ;
    close(p[0]);
    pid_t z = fork();
    if (z == 0)
        _exit(0);
    char **tokens = procreact_type_finalize_string_array(as, z, &st);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_non_null(tokens);
    assert_string_equal(tokens[0], "a");
    assert_string_equal(tokens[1], "b");
    assert_null(tokens[2]);
    procreact_free_string_array(tokens);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- a future used the wrong way round ---- */

static void futures_misused(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "x", 1) == 0 ? 0 : 1);
    ProcReact_Status st;
    char *s = procreact_future_get(&f, &st);
    assert_string_equal(s, "x");
    procreact_destroy_future(&f); /* after get: the result stays the caller's */
    assert_ptr_equal(procreact_future_get(&f, &st), s);
    assert_string_equal(s, "x");
    free(s);

    /* destroyed before get: get reports a failure, never blocks or crashes */
    f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0) {
        for (;;)
            pause();
    }
    procreact_destroy_future(&f);
    st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&f, &st));
    assert_int_not_equal(st, PROCREACT_STATUS_OK);

    /* a zeroed future */
    ProcReact_Future zero;
    memset(&zero, 0, sizeof zero);
    st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&zero, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    procreact_destroy_future(&zero);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the bad-input tests", (unsigned)(getenv("HARDENING_SCALE") ? 600 : 60));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(types_with_null_members),
        cmocka_unit_test(iterator_with_refused_types),
        cmocka_unit_test(building_blocks),
        cmocka_unit_test(futures_misused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
