/* SPDX-License-Identifier: MIT */
/*
 * procreact_types.h: large outputs through futures (upstream defect 4:
 * quadratic reading). 64 MiB (6 MiB under valgrind) as bytes, as a string,
 * and as a string array of short lines and one long line.
 */
#include "types_test.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_large_bytes),
        T_TEST(test_large_string),
        T_TEST(test_large_string_array),
    };
    return cmocka_run_group_tests_name("types_large", tests, NULL, NULL);
}
