/* SPDX-License-Identifier: MIT */
/*
 * A future whose writers have hung up: what is left in the pipe is read at
 * once, and a custom type that never reports the end of its stream still
 * gets its deadline (reading to the end at once is only for the library's
 * own types).
 */
#include "test.h"

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_types.h>

static void *never_ending_initialize(void)
{
    return calloc(1, sizeof(long));
}

/* Reads what there is, and says "more" even at end of stream. */
static ssize_t never_ending_append(ProcReact_Type *type, void *state, int fd)
{
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    (void)type;
    if (n > 0)
        *(long *)state += n;
    return 1;
}

static void *never_ending_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    int wstatus;
    waitpid(pid, &wstatus, 0);
    *status = PROCREACT_STATUS_OK;
    return state;
}

static void test_custom_append_without_end_keeps_deadline(void **state)
{
    ProcReact_Type type;
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    long *bytes;
    double started;
    (void)state;
    memset(&type, 0, sizeof type);
    type.initialize = never_ending_initialize;
    type.append = never_ending_append;
    type.finalize = never_ending_finalize;
    future = procreact_initialize_future(type);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "bytes, then the end");
        _exit(0);
    }
    assert_int_equal(procreact_future_set_timeout(&future, 0.2), 0);
    started = t_now();
    bytes = (long *)procreact_future_get_with_info(&future, &status, &info);
    /* Ended by its deadline, not by a step that never returns. */
    assert_true(t_now() - started < 10.0);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_non_null(bytes);
    assert_int_equal(*bytes, (long)strlen("bytes, then the end"));
    free(bytes);
}

static void test_builtin_reads_rest_after_hangup(void **state)
{
    enum { kSize = 200 * 1024 };
    ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_BytesState *result;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        _exit(t_write_pattern(future.fd, kSize, 4096) == 0 ? 0 : 1);
    }
    result = (ProcReact_BytesState *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_int_equal(result->data_size, kSize);
    assert_int_equal(t_check_pattern((const unsigned char *)result->data, result->data_size), kSize);
    free(result->data);
    free(result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_custom_append_without_end_keeps_deadline),
        T_TEST(test_builtin_reads_rest_after_hangup),
    };
    return cmocka_run_group_tests_name("hangup", tests, NULL, NULL);
}
