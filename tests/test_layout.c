/* SPDX-License-Identifier: MIT */
/*
 * The public structs are ABI: binaries built against libprocreact 0.1 hold
 * them by value and read their fields at fixed offsets. This test pins the
 * x86_64 (LP64) sizes and offsets listed in compat-api.md, and the values of
 * the status enum, so that a change to a header cannot slip through.
 */
#include "test.h"

#include <procreact.h>

#define ASSERT_OFFSET(type, field, expected) assert_int_equal(offsetof(type, field), (expected))

static void test_type_layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(ProcReact_Type), 32);
    ASSERT_OFFSET(ProcReact_Type, initialize, 0);
    ASSERT_OFFSET(ProcReact_Type, append, 8);
    ASSERT_OFFSET(ProcReact_Type, finalize, 16);
    ASSERT_OFFSET(ProcReact_Type, delimiter, 24);
    assert_int_equal(sizeof(((ProcReact_Type *)0)->delimiter), 1);
}

static void test_future_layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(ProcReact_Future), 56);
    ASSERT_OFFSET(ProcReact_Future, pid, 0);
    ASSERT_OFFSET(ProcReact_Future, fd, 4);
    ASSERT_OFFSET(ProcReact_Future, type, 8);
    ASSERT_OFFSET(ProcReact_Future, result, 40);
    ASSERT_OFFSET(ProcReact_Future, state, 48);
    assert_int_equal(sizeof(((ProcReact_Future *)0)->pid), sizeof(pid_t));
    assert_int_equal(sizeof(((ProcReact_Future *)0)->fd), sizeof(int));
}

static void test_future_iterator_layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(ProcReact_FutureIterator), 48);
    ASSERT_OFFSET(ProcReact_FutureIterator, has_next, 0);
    ASSERT_OFFSET(ProcReact_FutureIterator, next, 8);
    ASSERT_OFFSET(ProcReact_FutureIterator, complete, 16);
    ASSERT_OFFSET(ProcReact_FutureIterator, data, 24);
    ASSERT_OFFSET(ProcReact_FutureIterator, running_processes, 32);
    ASSERT_OFFSET(ProcReact_FutureIterator, futures, 40);
    assert_int_equal(sizeof(((ProcReact_FutureIterator *)0)->running_processes), sizeof(unsigned int));
}

static void test_pid_iterator_layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(ProcReact_PidIterator), 48);
    ASSERT_OFFSET(ProcReact_PidIterator, has_next, 0);
    ASSERT_OFFSET(ProcReact_PidIterator, next, 8);
    ASSERT_OFFSET(ProcReact_PidIterator, retrieve, 16);
    ASSERT_OFFSET(ProcReact_PidIterator, complete, 24);
    ASSERT_OFFSET(ProcReact_PidIterator, data, 32);
    ASSERT_OFFSET(ProcReact_PidIterator, running_processes, 40);
    assert_int_equal(sizeof(((ProcReact_PidIterator *)0)->running_processes), sizeof(unsigned int));
}

static void test_state_layouts(void **state)
{
    (void)state;
    assert_int_equal(sizeof(ProcReact_BytesState), 16);
    ASSERT_OFFSET(ProcReact_BytesState, data, 0);
    ASSERT_OFFSET(ProcReact_BytesState, data_size, 8);
    assert_int_equal(sizeof(((ProcReact_BytesState *)0)->data_size), sizeof(unsigned int));

    assert_int_equal(sizeof(ProcReact_StringArrayState), 16);
    ASSERT_OFFSET(ProcReact_StringArrayState, result, 0);
    ASSERT_OFFSET(ProcReact_StringArrayState, result_length, 8);
    assert_int_equal(sizeof(((ProcReact_StringArrayState *)0)->result_length), sizeof(unsigned int));
}

static void test_status_values(void **state)
{
    (void)state;
    assert_int_equal(sizeof(ProcReact_Status), 4);
    assert_int_equal(sizeof(ProcReact_bool), sizeof(int));
    /* The first four are libprocreact 0.1's, in its order; ours are appended. */
    assert_int_equal(PROCREACT_STATUS_OK, 0);
    assert_int_equal(PROCREACT_STATUS_FORK_FAIL, 1);
    assert_int_equal(PROCREACT_STATUS_WAIT_FAIL, 2);
    assert_int_equal(PROCREACT_STATUS_ABNORMAL_TERMINATION, 3);
    assert_true(PROCREACT_STATUS_RESULT_TOO_LARGE > PROCREACT_STATUS_ABNORMAL_TERMINATION);
    assert_true(PROCREACT_STATUS_OUT_OF_MEMORY > PROCREACT_STATUS_ABNORMAL_TERMINATION);
    assert_true(PROCREACT_STATUS_READ_FAIL > PROCREACT_STATUS_ABNORMAL_TERMINATION);
}

static void test_function_pointer_types(void **state)
{
    /* The callback typedefs keep 0.1's signatures: these assignments would
     * not compile (with -Werror) if a parameter type changed. */
    ProcReact_RetrieveResult retrieve = procreact_retrieve_exit_status;
    ProcReact_Type bytes = procreact_create_bytes_type();
    ssize_t (*append)(ProcReact_Type *, void *, int) = procreact_type_append_bytes;
    void *(*finalize)(void *, pid_t, ProcReact_Status *) = procreact_type_finalize_bytes;
    void *(*initialize)(void) = procreact_type_initialize_bytes;
    (void)state;
    assert_true(retrieve == procreact_retrieve_exit_status);
    assert_true(bytes.append == append);
    assert_true(bytes.finalize == finalize);
    assert_true(bytes.initialize == initialize);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_layout),
        cmocka_unit_test(test_future_layout),
        cmocka_unit_test(test_future_iterator_layout),
        cmocka_unit_test(test_pid_iterator_layout),
        cmocka_unit_test(test_state_layouts),
        cmocka_unit_test(test_status_values),
        cmocka_unit_test(test_function_pointer_types),
    };
    return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}
