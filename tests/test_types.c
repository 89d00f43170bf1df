/* SPDX-License-Identifier: MIT */
/*
 * procreact_types.h: the built-in result types, end to end through
 * futures. Type creation, small and empty results, the string-array
 * splitting rules exactly as compat-api.md lists them, custom and NUL
 * delimiters, tokens across reads, and the NULL-result rules for failed
 * children. Large outputs: test_types_large.c; the public building blocks:
 * test_types_blocks.c.
 */
#include "types_test.h"

/* ------------------------------------------------------------- helpers */

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
    };
    return cmocka_run_group_tests_name("types", tests, NULL, NULL);
}
