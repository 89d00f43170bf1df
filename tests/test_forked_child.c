/* SPDX-License-Identifier: MIT */
/*
 * A forked child that does not exec and uses the library itself. The
 * parent keeps its per-child records in memory that a forked child does
 * not share (it finds it zeroed): the child must start afresh there, and
 * nothing it does may reach the parent's futures in flight.
 */
#include "test.h"

#include <procreact_future.h>
#include <procreact_types.h>

enum { kPending = 4, kSequential = 16, kTogether = 8 };

/* A future whose child writes "<index>" after @p delay_ms. */
static ProcReact_Future start_indexed(int index, long delay_ms)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == 0) {
        t_sleep_ms(delay_ms);
        dprintf(future.fd, "%d", index);
        _exit(0);
    }
    return future;
}

/* Whether @p future completes with the text "<index>". */
static int completes_with(ProcReact_Future *future, int index)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char expected[16];
    char *result = (char *)procreact_future_get(future, &status);
    int ok;
    snprintf(expected, sizeof expected, "%d", index);
    ok = status == PROCREACT_STATUS_OK && result != NULL && strcmp(result, expected) == 0;
    free(result);
    return ok;
}

/* In the forked child: futures one after another, then several at once.
 * Returns the number that went wrong. */
static int child_runs_its_own(void)
{
    ProcReact_Future together[kTogether];
    int wrong = 0;
    for (int i = 0; i < kSequential; ++i) {
        ProcReact_Future future = start_indexed(100 + i, 0);
        if (future.pid < 0 || !completes_with(&future, 100 + i))
            ++wrong;
    }
    for (int i = 0; i < kTogether; ++i)
        together[i] = start_indexed(200 + i, 5);
    for (int i = kTogether - 1; i >= 0; --i)
        if (together[i].pid < 0 || !completes_with(&together[i], 200 + i))
            ++wrong;
    return wrong;
}

static void test_forked_child_runs_futures_of_its_own(void **state)
{
    ProcReact_Future pending[kPending];
    ProcReact_Future probe;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *verdict;
    (void)state;
    for (int i = 0; i < kPending; ++i) {
        pending[i] = start_indexed(i, 300);
        assert_true(pending[i].pid > 0);
    }
    probe = procreact_initialize_future(procreact_create_string_type());
    assert_true(probe.pid >= 0);
    if (probe.pid == 0) {
        dprintf(probe.fd, "wrong %d", child_runs_its_own());
        _exit(0);
    }
    verdict = (char *)procreact_future_get(&probe, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(verdict);
    assert_string_equal(verdict, "wrong 0");
    free(verdict);
    /* The parent's futures, started before the child, are untouched. */
    for (int i = 0; i < kPending; ++i)
        assert_true(completes_with(&pending[i], i));
    assert_true(t_no_children());
}

/* Many records at once in the parent, more than one page of each size,
 * freed in another order than they were made, then made again. */
static void test_many_futures_in_flight_twice(void **state)
{
    enum { kMany = 200 };
    static ProcReact_Future futures[kMany];
    (void)state;
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < kMany; ++i) {
            futures[i] = start_indexed(i, 0);
            assert_true(futures[i].pid > 0);
        }
        for (int i = 0; i < kMany; i += 2)
            assert_true(completes_with(&futures[i], i));
        for (int i = 1; i < kMany; i += 2)
            assert_true(completes_with(&futures[i], i));
    }
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_forked_child_runs_futures_of_its_own),
        T_TEST(test_many_futures_in_flight_twice),
    };
    return cmocka_run_group_tests_name("forked_child", tests, NULL, NULL);
}
