/* SPDX-License-Identifier: MIT */
/*
 * procreact_types.h: the built-in result types, end to end through futures
 * and through their public building blocks. Covers the string-array
 * splitting rules exactly as compat-api.md lists them, custom and NUL
 * delimiters, large outputs (upstream defect 4: quadratic reading) and the
 * NULL-result rules for failed children.
 */
#include "test.h"

#include <limits.h>

#include <procreact_future.h>
#include <procreact_types.h>

/* ------------------------------------------------------------- helpers */

typedef void (*ChildBody)(int fd, const void *arg);

/* Runs @p body in a future's child, which then exits with @p code (or dies
 * by signal @p signo), and returns the future's result. */
static void *run_future(ProcReact_Type type, ChildBody body, const void *arg, int code, int signo,
                        ProcReact_Status *status)
{
    ProcReact_Future future = procreact_initialize_future(type);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        body(future.fd, arg);
        if (signo != 0)
            t_die_by_signal(signo);
        _exit(code);
    }
    return procreact_future_get(&future, status);
}

typedef struct {
    const char *bytes;
    size_t len;
} Blob;

static void write_blob(int fd, const void *arg)
{
    const Blob *blob = (const Blob *)arg;
    if (t_write_all(fd, blob->bytes, blob->len) != 0)
        _exit(120);
}

/* Writes the pieces of a NULL-terminated list one by one, pausing between
 * them, so that tokens straddle reads. */
static void write_pieces(int fd, const void *arg)
{
    const char *const *piece = (const char *const *)arg;
    for (; *piece != NULL; ++piece) {
        if (t_write_str(fd, *piece) != 0)
            _exit(120);
        t_sleep_ms(15);
    }
}

static size_t array_length(char **arr)
{
    size_t n = 0;
    while (arr[n] != NULL)
        ++n;
    return n;
}

/* Runs the string-array type over @p len bytes and compares the tokens. */
static void check_split(char delimiter, const char *bytes, size_t len, const char *const *expected)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    Blob blob;
    char **arr;
    size_t i, n = 0;
    blob.bytes = bytes;
    blob.len = len;
    arr = (char **)run_future(procreact_create_string_array_type(delimiter), write_blob, &blob, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(arr);
    while (expected[n] != NULL)
        ++n;
    assert_int_equal(array_length(arr), n);
    for (i = 0; i < n; ++i)
        assert_string_equal(arr[i], expected[i]);
    assert_null(arr[n]);
    procreact_free_string_array(arr);
}

#define CHECK_SPLIT(delim, literal, ...)                                                                     \
    do {                                                                                                     \
        static const char *const expected_[] = {__VA_ARGS__};                                                \
        check_split((delim), (literal), sizeof(literal) - 1, expected_);                                     \
    } while (0)

/* ------------------------------------------------------- type creation */

static void test_create_types(void **state)
{
    ProcReact_Type bytes = procreact_create_bytes_type();
    ProcReact_Type string = procreact_create_string_type();
    ProcReact_Type array = procreact_create_string_array_type(':');
    (void)state;
    assert_non_null(bytes.append);
    assert_non_null(bytes.finalize);
    assert_non_null(string.append);
    assert_non_null(string.finalize);
    assert_non_null(array.append);
    assert_non_null(array.finalize);
    assert_int_equal(array.delimiter, ':');
    assert_int_equal(procreact_create_string_array_type('\0').delimiter, '\0');
    assert_true(bytes.finalize == procreact_type_finalize_bytes);
    assert_true(string.finalize == procreact_type_finalize_string);
    assert_true(array.finalize == procreact_type_finalize_string_array);
    assert_true(array.append == procreact_type_append_strings_to_array);
    procreact_free_string_array(NULL); /* allowed, does nothing */
}

/* ----------------------------------------------------------- small data */

static void test_bytes_small(void **state)
{
    static const char data[] = "hello\0world\n";
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    Blob blob;
    ProcReact_BytesState *result;
    (void)state;
    blob.bytes = data;
    blob.len = sizeof data - 1;
    result = (ProcReact_BytesState *)run_future(procreact_create_bytes_type(), write_blob, &blob, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_int_equal(result->data_size, sizeof data - 1);
    assert_memory_equal(result->data, data, sizeof data - 1);
    free(result->data);
    free(result);
}

static void test_bytes_empty(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    Blob blob = {"", 0};
    ProcReact_BytesState *result;
    (void)state;
    result = (ProcReact_BytesState *)run_future(procreact_create_bytes_type(), write_blob, &blob, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_int_equal(result->data_size, 0);
    free(result->data);
    free(result);
}

static void test_string_small_and_empty(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    Blob blob = {"Hello procreact!\n", 17};
    char *s;
    (void)state;
    s = (char *)run_future(procreact_create_string_type(), write_blob, &blob, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(s);
    assert_string_equal(s, "Hello procreact!\n");
    free(s);

    blob.len = 0;
    status = PROCREACT_STATUS_FORK_FAIL;
    s = (char *)run_future(procreact_create_string_type(), write_blob, &blob, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

/* ------------------------------------------------------ splitting rules */

static void test_string_array_rules(void **state)
{
    (void)state;
    CHECK_SPLIT('\n', "a\nb\n", "a", "b", NULL);
    CHECK_SPLIT('\n', "a\nb", "a", "b", NULL);
    CHECK_SPLIT('\n', "a\n\nb", "a", "", "b", NULL);
    CHECK_SPLIT('\n', "\n", "", NULL);
    CHECK_SPLIT('\n', "", NULL);
    CHECK_SPLIT('\n', "single", "single", NULL);
    CHECK_SPLIT('\n', "\n\n", "", "", NULL);
    CHECK_SPLIT('\n', "a\n\n", "a", "", NULL);
    CHECK_SPLIT('\n', "\na", "", "a", NULL);
}

static void test_string_array_custom_delimiter(void **state)
{
    (void)state;
    CHECK_SPLIT(':', "x:y::z:", "x", "y", "", "z", NULL);
    /* With another delimiter a newline is an ordinary byte. */
    CHECK_SPLIT(':', "line1\nline2:b\n", "line1\nline2", "b\n", NULL);
    CHECK_SPLIT(' ', "one two  three", "one", "two", "", "three", NULL);
}

static void test_string_array_nul_delimiter(void **state)
{
    (void)state;
    /* Like `find -print0`: NUL-separated, NUL-terminated. */
    CHECK_SPLIT('\0', "a\0bc\0\0d\0", "a", "bc", "", "d", NULL);
    CHECK_SPLIT('\0', "a\nb\0c", "a\nb", "c", NULL);
    CHECK_SPLIT('\0', "", NULL);
}

static void test_string_array_tokens_across_reads(void **state)
{
    static const char *const pieces[] = {"ab", "c\nd", "e\n", "\nf", "gh", "\n", NULL};
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char **arr;
    (void)state;
    arr = (char **)run_future(procreact_create_string_array_type('\n'), write_pieces, pieces, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(arr);
    assert_int_equal(array_length(arr), 4);
    assert_string_equal(arr[0], "abc");
    assert_string_equal(arr[1], "de");
    assert_string_equal(arr[2], "");
    assert_string_equal(arr[3], "fgh");
    procreact_free_string_array(arr);
}

/* ------------------------------------------------------ failed children */

static void test_nonzero_exit_gives_null_with_ok(void **state)
{
    Blob blob = {"some output\nmore\n", 17};
    ProcReact_Type types[3];
    int i;
    (void)state;
    types[0] = procreact_create_bytes_type();
    types[1] = procreact_create_string_type();
    types[2] = procreact_create_string_array_type('\n');
    for (i = 0; i < 3; ++i) {
        ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
        void *result = run_future(types[i], write_blob, &blob, 3, 0, &status);
        assert_null(result);
        assert_int_equal(status, PROCREACT_STATUS_OK);
    }
}

static void test_abnormal_termination_each_type(void **state)
{
    Blob blob = {"partial", 7};
    ProcReact_Type types[3];
    int i;
    (void)state;
    types[0] = procreact_create_bytes_type();
    types[1] = procreact_create_string_type();
    types[2] = procreact_create_string_array_type('\n');
    for (i = 0; i < 3; ++i) {
        ProcReact_Status status = PROCREACT_STATUS_OK;
        void *result = run_future(types[i], write_blob, &blob, 0, i == 1 ? SIGABRT : SIGSEGV, &status);
        assert_null(result);
        assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);
    }
}

/* ---------------------------------------------------------- large data */

static size_t large_size(void)
{
    /* 64 MiB normally; memcheck is some 30 times slower. */
    return t_under_valgrind() ? ((size_t)6 << 20) : ((size_t)64 << 20);
}

static void write_pattern_body(int fd, const void *arg)
{
    /* An odd chunk size, so that writes and reads never line up. */
    if (t_write_pattern(fd, *(const size_t *)arg, 100003) != 0)
        _exit(120);
}

static void test_large_bytes(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    size_t size = large_size();
    ProcReact_BytesState *result;
    (void)state;
    result = (ProcReact_BytesState *)run_future(procreact_create_bytes_type(), write_pattern_body, &size, 0, 0,
                                                &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_int_equal(result->data_size, size);
    assert_int_equal(t_check_pattern((const unsigned char *)result->data, size), size);
    free(result->data);
    free(result);
}

static void test_large_string(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    size_t size = large_size();
    char *s;
    (void)state;
    s = (char *)run_future(procreact_create_string_type(), write_pattern_body, &size, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(s);
    assert_int_equal(strlen(s), size);
    assert_int_equal(t_check_pattern((const unsigned char *)s, size), size);
    free(s);
}

/* Line i of the large array: length and bytes derived from i. */
static size_t line_length(size_t i)
{
    return (i * 7919u) % 4000u;
}

static char line_char(size_t i, size_t j)
{
    return (char)('a' + (i + j * 3u) % 26u);
}

typedef struct {
    size_t lines;     /* short lines first */
    size_t long_line; /* then one line this long, without a trailing delimiter */
} ArrayPlan;

static void write_array_body(int fd, const void *arg)
{
    const ArrayPlan *plan = (const ArrayPlan *)arg;
    size_t cap = (size_t)1 << 20, used = 0, i, j;
    char *buf = (char *)malloc(cap);
    if (buf == NULL)
        _exit(121);
    for (i = 0; i < plan->lines; ++i) {
        size_t len = line_length(i);
        if (used + len + 1 > cap) {
            if (t_write_all(fd, buf, used) != 0)
                _exit(120);
            used = 0;
        }
        for (j = 0; j < len; ++j)
            buf[used++] = line_char(i, j);
        buf[used++] = '\n';
    }
    for (j = 0; j < plan->long_line; ++j) {
        if (used == cap) {
            if (t_write_all(fd, buf, used) != 0)
                _exit(120);
            used = 0;
        }
        buf[used++] = line_char(plan->lines, j);
    }
    if (t_write_all(fd, buf, used) != 0)
        _exit(120);
    free(buf);
}

static void test_large_string_array(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ArrayPlan plan;
    size_t i, total = 0;
    char **arr;
    (void)state;
    /* Half the volume in ~2000-byte lines, half in one line: upstream rescans
     * a growing token on every 1 KiB read, quadratic in that line. */
    plan.long_line = large_size() / 2;
    plan.lines = 0;
    while (total < large_size() / 2)
        total += line_length(plan.lines++) + 1;
    arr = (char **)run_future(procreact_create_string_array_type('\n'), write_array_body, &plan, 0, 0, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(arr);
    assert_int_equal(array_length(arr), plan.lines + 1);
    for (i = 0; i <= plan.lines; ++i) {
        size_t len = i < plan.lines ? line_length(i) : plan.long_line, j;
        const char *token = arr[i];
        assert_int_equal(strlen(token), len);
        for (j = 0; j < len; ++j)
            if (token[j] != line_char(i, j))
                fail_msg("token %zu differs at byte %zu", i, j);
    }
    procreact_free_string_array(arr);
}

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
        T_TEST(test_create_types),
        T_TEST(test_bytes_small),
        T_TEST(test_bytes_empty),
        T_TEST(test_string_small_and_empty),
        T_TEST(test_string_array_rules),
        T_TEST(test_string_array_custom_delimiter),
        T_TEST(test_string_array_nul_delimiter),
        T_TEST(test_string_array_tokens_across_reads),
        T_TEST(test_nonzero_exit_gives_null_with_ok),
        T_TEST(test_abnormal_termination_each_type),
        T_TEST(test_large_bytes),
        T_TEST(test_large_string),
        T_TEST(test_large_string_array),
        T_TEST(test_building_blocks_bytes),
        T_TEST(test_building_blocks_string_array),
        T_TEST(test_building_blocks_split_across_reads),
        T_TEST(test_building_blocks_record_read_errors),
        T_TEST(test_building_blocks_long_token),
    };
    return cmocka_run_group_tests_name("types", tests, NULL, NULL);
}
