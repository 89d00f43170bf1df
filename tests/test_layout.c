/* SPDX-License-Identifier: MIT */
/*
 * The public structs are ABI: binaries built against libprocreact 0.1 hold
 * them by value and read their fields at fixed offsets. This test pins the
 * sizes and offsets of those structs, and the values of the status enum, so
 * that a change to a header cannot slip through.
 *
 * The package is built for every architecture, so the expected layout is not
 * one table of numbers: it is computed below from libprocreact 0.1's field
 * order and types under this platform's size and alignment rules (members in
 * declaration order, each at the next multiple of its alignment; a struct
 * aligned like its most aligned member and padded to a multiple of that).
 * That computation is itself pinned to literal tables on the two common ABIs:
 *   LP64  (x86_64, arm64, ppc64el, s390x, riscv64, ...): the x86_64 table of
 *         the libprocreact 0.1 compatibility notes;
 *   ILP32 with 4-byte pointers (i386, armel, armhf, x32, ...).
 * Any other ABI (m68k aligns pointers to 2) is checked against the
 * computation alone.
 *
 * The checks run twice: as _Static_asserts, so that the build fails even
 * where the tests cannot run (cross builds) and `cc -m32 -fsyntax-only` checks
 * the ILP32 numbers without a 32-bit cmocka; and as cmocka tests, which name
 * the field and both values.
 */
#include "test.h"

#include <procreact.h>

/* ------------------------------------------- the platform's alignment rules */

/* The alignment a type gets as a struct member: the offset it takes after a
 * char. (GCC's __alignof__ gives the preferred alignment instead, which can
 * be larger: 8 for double on i386, where structs place it at 4.) */
struct layout_probe_fn {
    char c;
    void (*member)(void);
};
struct layout_probe_ptr {
    char c;
    void *member;
};
struct layout_probe_int {
    char c;
    int member;
};
struct layout_probe_uint {
    char c;
    unsigned int member;
};
struct layout_probe_pid {
    char c;
    pid_t member;
};

#define AL_FN offsetof(struct layout_probe_fn, member)
#define AL_PTR offsetof(struct layout_probe_ptr, member)
#define AL_INT offsetof(struct layout_probe_int, member)
#define AL_UINT offsetof(struct layout_probe_uint, member)
#define AL_PID offsetof(struct layout_probe_pid, member)

#define SZ_FN sizeof(void (*)(void))
#define SZ_PTR sizeof(void *)

#define ROUND_UP(n, a) (((n) + (a)-1) / (a) * (a))
#define MAX2(a, b) ((a) > (b) ? (a) : (b))
/* The offset of a member of alignment AL that follows one ending at END. */
#define NEXT(end, al) ROUND_UP((end), (al))

/* ------------------------------- libprocreact 0.1's layouts, field by field */

/* ProcReact_Type: initialize, append, finalize (function pointers),
 * char delimiter. */
#define TYPE_INITIALIZE ((size_t)0)
#define TYPE_APPEND NEXT(TYPE_INITIALIZE + SZ_FN, AL_FN)
#define TYPE_FINALIZE NEXT(TYPE_APPEND + SZ_FN, AL_FN)
#define TYPE_DELIMITER (TYPE_FINALIZE + SZ_FN) /* a char: alignment 1 */
#define TYPE_ALIGN AL_FN
#define TYPE_SIZE ROUND_UP(TYPE_DELIMITER + 1, TYPE_ALIGN)

/* ProcReact_Future: pid_t pid, int fd, ProcReact_Type type, void *result,
 * void *state. */
#define FUTURE_PID ((size_t)0)
#define FUTURE_FD NEXT(FUTURE_PID + sizeof(pid_t), AL_INT)
#define FUTURE_TYPE NEXT(FUTURE_FD + sizeof(int), TYPE_ALIGN)
#define FUTURE_RESULT NEXT(FUTURE_TYPE + TYPE_SIZE, AL_PTR)
#define FUTURE_STATE NEXT(FUTURE_RESULT + SZ_PTR, AL_PTR)
#define FUTURE_ALIGN MAX2(MAX2(AL_PID, AL_INT), MAX2(TYPE_ALIGN, AL_PTR))
#define FUTURE_SIZE ROUND_UP(FUTURE_STATE + SZ_PTR, FUTURE_ALIGN)

/* ProcReact_FutureIterator: has_next, next, complete (function pointers),
 * void *data, unsigned int running_processes, ProcReact_Future *futures. */
#define FITER_HAS_NEXT ((size_t)0)
#define FITER_NEXT NEXT(FITER_HAS_NEXT + SZ_FN, AL_FN)
#define FITER_COMPLETE NEXT(FITER_NEXT + SZ_FN, AL_FN)
#define FITER_DATA NEXT(FITER_COMPLETE + SZ_FN, AL_PTR)
#define FITER_RUNNING NEXT(FITER_DATA + SZ_PTR, AL_UINT)
#define FITER_FUTURES NEXT(FITER_RUNNING + sizeof(unsigned int), AL_PTR)
#define FITER_ALIGN MAX2(MAX2(AL_FN, AL_PTR), AL_UINT)
#define FITER_SIZE ROUND_UP(FITER_FUTURES + SZ_PTR, FITER_ALIGN)

/* ProcReact_PidIterator: has_next, next, retrieve, complete (function
 * pointers), void *data, unsigned int running_processes. */
#define PITER_HAS_NEXT ((size_t)0)
#define PITER_NEXT NEXT(PITER_HAS_NEXT + SZ_FN, AL_FN)
#define PITER_RETRIEVE NEXT(PITER_NEXT + SZ_FN, AL_FN)
#define PITER_COMPLETE NEXT(PITER_RETRIEVE + SZ_FN, AL_FN)
#define PITER_DATA NEXT(PITER_COMPLETE + SZ_FN, AL_PTR)
#define PITER_RUNNING NEXT(PITER_DATA + SZ_PTR, AL_UINT)
#define PITER_ALIGN MAX2(MAX2(AL_FN, AL_PTR), AL_UINT)
#define PITER_SIZE ROUND_UP(PITER_RUNNING + sizeof(unsigned int), PITER_ALIGN)

/* ProcReact_BytesState: void *data, unsigned int data_size.
 * ProcReact_StringArrayState: char **result, unsigned int result_length;
 * the same layout. */
#define STATE_POINTER ((size_t)0)
#define STATE_LENGTH NEXT(STATE_POINTER + SZ_PTR, AL_UINT)
#define STATE_ALIGN MAX2(AL_PTR, AL_UINT)
#define STATE_SIZE ROUND_UP(STATE_LENGTH + sizeof(unsigned int), STATE_ALIGN)

/* -------------------------------------- literal tables for the common ABIs */

#define ABI_LP64                                                                                                       \
    (sizeof(void *) == 8 && sizeof(long) == 8 && SZ_FN == 8 && AL_PTR == 8 && AL_FN == 8 && sizeof(int) == 4 &&        \
     AL_INT == 4 && sizeof(pid_t) == 4)
#define ABI_ILP32                                                                                                      \
    (sizeof(void *) == 4 && sizeof(long) == 4 && SZ_FN == 4 && AL_PTR == 4 && AL_FN == 4 && sizeof(int) == 4 &&        \
     AL_INT == 4 && sizeof(pid_t) == 4)

/* Each entry: the computed value, its LP64 value, its ILP32 value. */
// clang-format off
#define ABI_VALUES(X)                                                                                                  \
    X(TYPE_INITIALIZE, 0, 0) X(TYPE_APPEND, 8, 4) X(TYPE_FINALIZE, 16, 8) X(TYPE_DELIMITER, 24, 12)                    \
    X(TYPE_SIZE, 32, 16)                                                                                               \
    X(FUTURE_PID, 0, 0) X(FUTURE_FD, 4, 4) X(FUTURE_TYPE, 8, 8) X(FUTURE_RESULT, 40, 24) X(FUTURE_STATE, 48, 28)       \
    X(FUTURE_SIZE, 56, 32)                                                                                             \
    X(FITER_HAS_NEXT, 0, 0) X(FITER_NEXT, 8, 4) X(FITER_COMPLETE, 16, 8) X(FITER_DATA, 24, 12)                         \
    X(FITER_RUNNING, 32, 16) X(FITER_FUTURES, 40, 20) X(FITER_SIZE, 48, 24)                                            \
    X(PITER_HAS_NEXT, 0, 0) X(PITER_NEXT, 8, 4) X(PITER_RETRIEVE, 16, 8) X(PITER_COMPLETE, 24, 12)                     \
    X(PITER_DATA, 32, 16) X(PITER_RUNNING, 40, 20) X(PITER_SIZE, 48, 24)                                               \
    X(STATE_POINTER, 0, 0) X(STATE_LENGTH, 8, 4) X(STATE_SIZE, 16, 8)
// clang-format on

#define STATIC_ABI_VALUE(computed, lp64, ilp32)                                                                        \
    _Static_assert(!ABI_LP64 || (computed) == (lp64), #computed " differs from the LP64 table");                       \
    _Static_assert(!ABI_ILP32 || (computed) == (ilp32), #computed " differs from the ILP32 table");
ABI_VALUES(STATIC_ABI_VALUE)

/* -------------------------------------- the headers against the computation */

#define LAYOUT_CHECKS(X)                                                                                               \
    X(ProcReact_Type, initialize, TYPE_INITIALIZE)                                                                     \
    X(ProcReact_Type, append, TYPE_APPEND)                                                                             \
    X(ProcReact_Type, finalize, TYPE_FINALIZE)                                                                         \
    X(ProcReact_Type, delimiter, TYPE_DELIMITER)                                                                       \
    X(ProcReact_Future, pid, FUTURE_PID)                                                                               \
    X(ProcReact_Future, fd, FUTURE_FD)                                                                                 \
    X(ProcReact_Future, type, FUTURE_TYPE)                                                                             \
    X(ProcReact_Future, result, FUTURE_RESULT)                                                                         \
    X(ProcReact_Future, state, FUTURE_STATE)                                                                           \
    X(ProcReact_FutureIterator, has_next, FITER_HAS_NEXT)                                                              \
    X(ProcReact_FutureIterator, next, FITER_NEXT)                                                                      \
    X(ProcReact_FutureIterator, complete, FITER_COMPLETE)                                                              \
    X(ProcReact_FutureIterator, data, FITER_DATA)                                                                      \
    X(ProcReact_FutureIterator, running_processes, FITER_RUNNING)                                                      \
    X(ProcReact_FutureIterator, futures, FITER_FUTURES)                                                                \
    X(ProcReact_PidIterator, has_next, PITER_HAS_NEXT)                                                                 \
    X(ProcReact_PidIterator, next, PITER_NEXT)                                                                         \
    X(ProcReact_PidIterator, retrieve, PITER_RETRIEVE)                                                                 \
    X(ProcReact_PidIterator, complete, PITER_COMPLETE)                                                                 \
    X(ProcReact_PidIterator, data, PITER_DATA)                                                                         \
    X(ProcReact_PidIterator, running_processes, PITER_RUNNING)                                                         \
    X(ProcReact_BytesState, data, STATE_POINTER)                                                                       \
    X(ProcReact_BytesState, data_size, STATE_LENGTH)                                                                   \
    X(ProcReact_StringArrayState, result, STATE_POINTER)                                                               \
    X(ProcReact_StringArrayState, result_length, STATE_LENGTH)

#define SIZE_CHECKS(X)                                                                                                 \
    X(ProcReact_Type, TYPE_SIZE)                                                                                       \
    X(ProcReact_Future, FUTURE_SIZE)                                                                                   \
    X(ProcReact_FutureIterator, FITER_SIZE)                                                                            \
    X(ProcReact_PidIterator, PITER_SIZE)                                                                               \
    X(ProcReact_BytesState, STATE_SIZE)                                                                                \
    X(ProcReact_StringArrayState, STATE_SIZE)

/* The members' own sizes: a type change that happens to keep the offsets
 * (int to unsigned int aside) still changes what a 0.1 binary reads. */
#define MEMBER_SIZE(type, field) sizeof(((type *)0)->field)
#define MEMBER_CHECKS(X)                                                                                               \
    X(ProcReact_Type, initialize, SZ_FN)                                                                               \
    X(ProcReact_Type, append, SZ_FN)                                                                                   \
    X(ProcReact_Type, finalize, SZ_FN)                                                                                 \
    X(ProcReact_Type, delimiter, 1)                                                                                    \
    X(ProcReact_Future, pid, sizeof(pid_t))                                                                            \
    X(ProcReact_Future, fd, sizeof(int))                                                                               \
    X(ProcReact_Future, type, TYPE_SIZE)                                                                               \
    X(ProcReact_Future, result, SZ_PTR)                                                                                \
    X(ProcReact_Future, state, SZ_PTR)                                                                                 \
    X(ProcReact_FutureIterator, has_next, SZ_FN)                                                                       \
    X(ProcReact_FutureIterator, next, SZ_FN)                                                                           \
    X(ProcReact_FutureIterator, complete, SZ_FN)                                                                       \
    X(ProcReact_FutureIterator, data, SZ_PTR)                                                                          \
    X(ProcReact_FutureIterator, running_processes, sizeof(unsigned int))                                               \
    X(ProcReact_FutureIterator, futures, SZ_PTR)                                                                       \
    X(ProcReact_PidIterator, has_next, SZ_FN)                                                                          \
    X(ProcReact_PidIterator, next, SZ_FN)                                                                              \
    X(ProcReact_PidIterator, retrieve, SZ_FN)                                                                          \
    X(ProcReact_PidIterator, complete, SZ_FN)                                                                          \
    X(ProcReact_PidIterator, data, SZ_PTR)                                                                             \
    X(ProcReact_PidIterator, running_processes, sizeof(unsigned int))                                                  \
    X(ProcReact_BytesState, data, SZ_PTR)                                                                              \
    X(ProcReact_BytesState, data_size, sizeof(unsigned int))                                                           \
    X(ProcReact_StringArrayState, result, SZ_PTR)                                                                      \
    X(ProcReact_StringArrayState, result_length, sizeof(unsigned int))

#define STATIC_OFFSET(type, field, expected)                                                                           \
    _Static_assert(offsetof(type, field) == (expected), #type "." #field " is not at its libprocreact 0.1 offset");
#define STATIC_SIZE(type, expected)                                                                                    \
    _Static_assert(sizeof(type) == (expected), "sizeof(" #type ") differs from libprocreact 0.1");
#define STATIC_MEMBER(type, field, expected)                                                                           \
    _Static_assert(MEMBER_SIZE(type, field) == (expected), #type "." #field " changed size");
LAYOUT_CHECKS(STATIC_OFFSET)
SIZE_CHECKS(STATIC_SIZE)
MEMBER_CHECKS(STATIC_MEMBER)

/* ----------------------------------------------------------- the cmocka tests */

static void check_value(const char *what, size_t actual, size_t expected)
{
    if (actual != expected) {
        print_error("%s is %zu, libprocreact 0.1 has %zu\n", what, actual, expected);
    }
    assert_int_equal(actual, expected);
}

static void test_abi_tables(void **state)
{
    (void)state;
    if (ABI_LP64) {
        print_message("# ABI: LP64, checked against the x86_64 table\n");
#define RUN_LP64(computed, lp64, ilp32) check_value(#computed " (LP64)", (computed), (lp64));
        ABI_VALUES(RUN_LP64)
#undef RUN_LP64
    } else if (ABI_ILP32) {
        print_message("# ABI: ILP32, checked against the ILP32 table\n");
#define RUN_ILP32(computed, lp64, ilp32) check_value(#computed " (ILP32)", (computed), (ilp32));
        ABI_VALUES(RUN_ILP32)
#undef RUN_ILP32
    } else {
        print_message("# ABI: pointers of %zu bytes aligned to %zu: computed layout only\n", SZ_PTR, (size_t)AL_PTR);
    }
}

static void test_offsets(void **state)
{
    (void)state;
#define RUN_OFFSET(type, field, expected)                                                                              \
    check_value("offsetof(" #type ", " #field ")", offsetof(type, field), (expected));
    LAYOUT_CHECKS(RUN_OFFSET)
#undef RUN_OFFSET
}

static void test_sizes(void **state)
{
    (void)state;
#define RUN_SIZE(type, expected) check_value("sizeof(" #type ")", sizeof(type), (expected));
    SIZE_CHECKS(RUN_SIZE)
#undef RUN_SIZE
#define RUN_MEMBER(type, field, expected) check_value("sizeof " #type "." #field, MEMBER_SIZE(type, field), (expected));
    MEMBER_CHECKS(RUN_MEMBER)
#undef RUN_MEMBER
}

static void test_status_values(void **state)
{
    (void)state;
    /* An enum of these values is an int on every Linux ABI. */
    assert_int_equal(sizeof(ProcReact_Status), sizeof(int));
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
        cmocka_unit_test(test_abi_tables),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_status_values),
        cmocka_unit_test(test_function_pointer_types),
    };
    return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}
