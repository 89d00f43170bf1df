/* SPDX-License-Identifier: MIT */
/*
 * procreact_types.h: the public building blocks (initialize, append,
 * finalize) on their own, as 0.1 clients use them. Bytes and string
 * arrays, splitting whatever the read boundaries, read errors recorded in
 * the public struct, and a long token grown in linear time.
 */
#include "types_test.h"

#include <limits.h>

/* -------------------------------------------------- the building blocks */

/* Feeds @p len bytes through a pipe into append() and finalizes against a
 * child that exits with @p code (an exec'ed stand-in, see t_fork_exiting()). */
static void *feed_blocks(ProcReact_Type *type, void *(*initialize)(void), const char *bytes, size_t len, int code,
                         ProcReact_Status *status)
{
    int fds[2];
    ssize_t n;
    pid_t pid = t_fork_exiting(code);
    void *st;
    assert_true(pid > 0);
    st = initialize();
    assert_non_null(st);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(t_write_all(fds[1], bytes, len), 0);
    close(fds[1]);
    do
        n = type->append(type, st, fds[0]);
    while (n > 0);
    assert_int_equal(n, 0);
    close(fds[0]);
    return type->finalize(st, pid, status);
}

static void test_building_blocks_bytes(void **state)
{
    ProcReact_Type type = procreact_create_bytes_type();
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_BytesState *result;
    char *s;
    (void)state;

    result = (ProcReact_BytesState *)feed_blocks(&type, procreact_type_initialize_bytes, "abc\0def", 7, 0,
                                                 &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_int_equal(result->data_size, 7);
    assert_memory_equal(result->data, "abc\0def", 7);
    free(result->data);
    free(result);

    /* The string finalizer over the same state kind. */
    type.finalize = procreact_type_finalize_string;
    status = PROCREACT_STATUS_FORK_FAIL;
    s = (char *)feed_blocks(&type, procreact_type_initialize_bytes, "text", 4, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(s);
    assert_string_equal(s, "text");
    free(s);

    /* A failing child: NULL result, the state is still freed (valgrind). */
    status = PROCREACT_STATUS_FORK_FAIL;
    assert_null(feed_blocks(&type, procreact_type_initialize_bytes, "lost", 4, 2, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);

    /* Bad arguments. */
    errno = 0;
    assert_int_equal(procreact_type_append_bytes(NULL, NULL, 0), -1);
    assert_int_equal(errno, EINVAL);
}

static void test_building_blocks_string_array(void **state)
{
    ProcReact_Type type = procreact_create_string_array_type(',');
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char **arr;
    (void)state;
    arr = (char **)feed_blocks(&type, procreact_type_initialize_string_array, "p,q,,r,", 7, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(arr);
    assert_int_equal(array_length(arr), 4);
    assert_string_equal(arr[0], "p");
    assert_string_equal(arr[1], "q");
    assert_string_equal(arr[2], "");
    assert_string_equal(arr[3], "r");
    procreact_free_string_array(arr);

    status = PROCREACT_STATUS_FORK_FAIL;
    assert_null(feed_blocks(&type, procreact_type_initialize_string_array, "x,y", 3, 1, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);
}

/* The building blocks split like 0.1 whatever the read boundaries: random
 * tokens written in random pieces, each piece read by its own append (so
 * tokens grow across reads), into a client's state whose last slot already
 * holds the start of a token ("pre", measured once with strlen()). */
static void test_building_blocks_split_across_reads(void **state)
{
    ProcReact_Type type = procreact_create_string_array_type(',');
    unsigned seed;
    (void)state;
    for (seed = 1; seed <= 40; ++seed) {
        char data[6000], expect[6100];
        size_t len = 0, pos = 0, i, n = 0;
        unsigned r = seed;
        int p[2];
        ProcReact_StringArrayState *s = (ProcReact_StringArrayState *)malloc(sizeof *s);
        ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
        char **arr;
        assert_non_null(s);
        s->result = (char **)malloc(sizeof(char *));
        assert_non_null(s->result);
        s->result[0] = strdup("pre");
        s->result_length = 1;
        while (len < sizeof data - 1) {
            r = r * 1103515245u + 12345u;
            data[len++] = (r >> 16) % 7 == 0 ? ',' : (char)('a' + (r >> 16) % 26);
        }
        assert_int_equal(pipe(p), 0);
        while (pos < len) {
            size_t piece;
            r = r * 1103515245u + 12345u;
            piece = 1 + (r >> 16) % (seed % 2 ? 7 : 900);
            if (piece > len - pos)
                piece = len - pos;
            assert_int_equal(t_write_all(p[1], data + pos, piece), 0);
            assert_int_equal(procreact_type_append_strings_to_array(&type, s, p[0]), (ssize_t)piece);
            pos += piece;
        }
        close(p[1]);
        assert_int_equal(procreact_type_append_strings_to_array(&type, s, p[0]), 0);
        close(p[0]);
        arr = (char **)procreact_type_finalize_string_array(s, t_fork_true(), &status);
        assert_int_equal(status, PROCREACT_STATUS_OK);
        assert_non_null(arr);
        /* The expected tokens: "pre" + data, split at ',' (a trailing one adds none). */
        snprintf(expect, sizeof expect, "pre%.*s", (int)len, data);
        {
            const char *tok = expect;
            for (;;) {
                const char *comma = strchr(tok, ',');
                size_t tl = comma ? (size_t)(comma - tok) : strlen(tok);
                if (comma == NULL && tl == 0)
                    break;
                assert_non_null(arr[n]);
                if (strlen(arr[n]) != tl || memcmp(arr[n], tok, tl) != 0)
                    fail_msg("seed %u: token %zu differs", seed, n);
                ++n;
                if (comma == NULL)
                    break;
                tok = comma + 1;
            }
        }
        assert_null(arr[n]);
        for (i = 0; i < n; ++i)
            assert_non_null(arr[i]);
        procreact_free_string_array(arr);
    }
}

/* A read error is recorded in the public struct (a NULL buffer with a size
 * of UINT_MAX - 2, see procreact_types.h) and reported by the finalize,
 * instead of passing for a short result. */
static void test_building_blocks_record_read_errors(void **state)
{
    ProcReact_Type bytes_type = procreact_create_bytes_type();
    ProcReact_Type array_type = procreact_create_string_array_type('\n');
    ProcReact_BytesState *b = (ProcReact_BytesState *)procreact_type_initialize_bytes();
    ProcReact_StringArrayState *a = (ProcReact_StringArrayState *)procreact_type_initialize_string_array();
    ProcReact_Status status;
    int dir = open(".", O_RDONLY | O_DIRECTORY); /* read() fails with EISDIR */
    (void)state;
    assert_true(dir >= 0);
    assert_non_null(b);
    assert_non_null(a);
    errno = 0;
    assert_int_equal(procreact_type_append_bytes(&bytes_type, b, dir), -1);
    assert_int_equal(errno, EISDIR);
    assert_null(b->data);
    assert_int_equal(b->data_size, UINT_MAX - 2);
    errno = 0;
    assert_int_equal(procreact_type_append_strings_to_array(&array_type, a, dir), -1);
    assert_int_equal(errno, EISDIR);
    assert_null(a->result);
    assert_int_equal(a->result_length, UINT_MAX - 2);
    close(dir);
    status = PROCREACT_STATUS_OK;
    assert_null(procreact_type_finalize_bytes(b, t_fork_true(), &status));
    assert_int_equal(status, PROCREACT_STATUS_READ_FAIL);
    status = PROCREACT_STATUS_OK;
    assert_null(procreact_type_finalize_string_array(a, t_fork_true(), &status));
    assert_int_equal(status, PROCREACT_STATUS_READ_FAIL);
}

/* A state made by the client (the bare public struct) grows a token across
 * many reads in linear time: 0.1 rescans the token on every read, which
 * for 64 MiB in 16 KiB reads is some 128 GiB of scanning. */
static void test_building_blocks_long_token(void **state)
{
    const size_t len = t_under_valgrind() ? (size_t)1 << 20 : (size_t)64 << 20;
    ProcReact_Type type = procreact_create_string_array_type(',');
    ProcReact_StringArrayState *s = (ProcReact_StringArrayState *)malloc(sizeof *s);
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char script[128], **arr;
    int fds[2];
    pid_t writer;
    ssize_t n;
    double cpu;
    size_t i;
    (void)state;
    assert_non_null(s);
    s->result = NULL;
    s->result_length = 0;
    snprintf(script, sizeof script, "head -c %zu /dev/zero | tr '\\0' a; printf ,b", len);
    assert_int_equal(pipe(fds), 0);
    writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    cpu = t_cpu();
    do
        n = procreact_type_append_strings_to_array(&type, s, fds[0]);
    while (n > 0);
    cpu = t_cpu() - cpu;
    assert_int_equal(n, 0);
    close(fds[0]);
    arr = (char **)procreact_type_finalize_string_array(s, writer, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(arr);
    assert_int_equal(array_length(arr), 2);
    assert_int_equal(strlen(arr[0]), len);
    for (i = 0; i < len; ++i)
        if (arr[0][i] != 'a')
            fail_msg("byte %zu differs", i);
    assert_string_equal(arr[1], "b");
    procreact_free_string_array(arr);
    fprintf(stderr, "# %.3f s of CPU for the token\n", cpu);
    if (!t_under_valgrind() && cpu > 1.5)
        fail_msg("reading a %zu-byte token took %.2f s of CPU", len, cpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_building_blocks_bytes),
        T_TEST(test_building_blocks_string_array),
        T_TEST(test_building_blocks_split_across_reads),
        T_TEST(test_building_blocks_record_read_errors),
        T_TEST(test_building_blocks_long_token),
    };
    return cmocka_run_group_tests_name("types_blocks", tests, NULL, NULL);
}
