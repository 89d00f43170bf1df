/* SPDX-License-Identifier: MIT */
/*
 * Suite 'badinput': pids that name no single child (0, -1 and below,
 * init, our parent), given to the wait functions, returned by next() and
 * found in futures. Each has the outcome the headers document, and none of
 * them reaps a child that is not the library's.
 */
#include "badinput_counts.h"

#include <limits.h>

/* ---- pids that name no single child ---- */

static void odd_pids_to_the_wait_functions(void **unused)
{
    (void)unused;
    /* a child of ours exists (a zombie) while the odd pids are tried: none of
     * them may reap it */
    pid_t mine = fork();
    if (mine == 0)
        _exit(42);
    assert_true(mine > 0);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    assert_int_equal(waitid(P_PID, (id_t)mine, &info, WEXITED | WNOWAIT), 0);

    static const pid_t odd[] = { 0, -2, -100, INT_MIN };
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; ++k) {
        ProcReact_Status st = PROCREACT_STATUS_OK;
        assert_int_equal(procreact_wait_for_exit_status(odd[k], &st), -1);
        assert_int_equal(st, PROCREACT_STATUS_WAIT_FAIL);
        st = PROCREACT_STATUS_OK;
        assert_false(procreact_wait_for_boolean(odd[k], &st));
        assert_int_equal(st, PROCREACT_STATUS_WAIT_FAIL);
        st = PROCREACT_STATUS_OK;
        assert_int_equal(procreact_wait_and_retrieve(odd[k], NULL, &st), -1);
        assert_int_equal(st, PROCREACT_STATUS_WAIT_FAIL);
        assert_int_equal(procreact_wait_for_exit_status(odd[k], NULL), -1);
    }
    /* -1 is a failed fork */
    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(-1, &st), -1);
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    st = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_retrieve_exit_status(-1, 0, &st), -1);
    assert_int_equal(st, PROCREACT_STATUS_WAIT_FAIL);
    assert_false(procreact_retrieve_boolean(-1, 0, NULL));
    /* somebody else's process: init, and our parent */
    st = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(1, &st), -1);
    assert_int_equal(st, PROCREACT_STATUS_WAIT_FAIL);
    st = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(getppid(), &st), -1);
    assert_int_equal(st, PROCREACT_STATUS_WAIT_FAIL);

    /* ours is still there, and its status intact */
    st = PROCREACT_STATUS_WAIT_FAIL;
    assert_int_equal(procreact_wait_and_retrieve(mine, NULL, &st), 42);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    /* and now it is gone */
    st = PROCREACT_STATUS_OK;
    assert_int_equal(procreact_wait_for_exit_status(mine, &st), -1);
    assert_int_equal(st, PROCREACT_STATUS_WAIT_FAIL);
    assert_true(hard_no_children());
}

static const pid_t g_odd_next[] = { 0, -1, -7, INT_MIN, 1 };
static size_t g_odd_index;
static pid_t g_odd_seen[8];
static ProcReact_Status g_odd_status[8];
static int g_odd_result[8];
static size_t g_odd_done;

static ProcReact_bool odd_has_next(void *data)
{
    (void)data;
    return g_odd_index < sizeof g_odd_next / sizeof g_odd_next[0];
}

static pid_t odd_next(void *data)
{
    (void)data;
    return g_odd_next[g_odd_index++];
}

static void odd_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    (void)data;
    g_odd_seen[g_odd_done] = pid;
    g_odd_status[g_odd_done] = status;
    g_odd_result[g_odd_done] = result;
    g_odd_done++;
}

static void odd_pids_from_next(void **unused)
{
    (void)unused;
    /* again with a child of ours that must not be touched */
    pid_t mine = fork();
    if (mine == 0)
        _exit(43);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    assert_int_equal(waitid(P_PID, (id_t)mine, &info, WEXITED | WNOWAIT), 0);
    for (unsigned limit = 0; limit < 3; ++limit) {
        g_odd_index = g_odd_done = 0;
        ProcReact_PidIterator it =
            procreact_initialize_pid_iterator(odd_has_next, odd_next, procreact_retrieve_exit_status, odd_complete, NULL);
        procreact_fork_and_wait_in_parallel_limit(&it, limit);
        assert_int_equal(g_odd_done, 5);
        for (size_t k = 0; k < 4; ++k) {
            assert_int_equal(g_odd_seen[k], g_odd_next[k]);
            assert_int_equal(g_odd_status[k], PROCREACT_STATUS_FORK_FAIL);
            assert_int_equal(g_odd_result[k], -1);
        }
        assert_int_equal(g_odd_seen[4], 1); /* init: not our child */
        assert_int_equal(g_odd_status[4], PROCREACT_STATUS_WAIT_FAIL);
        assert_int_equal(g_odd_result[4], -1);
        assert_int_equal(it.running_processes, 0);
    }
    ProcReact_Status st;
    assert_int_equal(procreact_wait_for_exit_status(mine, &st), 43);
    assert_true(hard_no_children());
}

static ProcReact_Future odd_future_next(void *data)
{
    (void)data;
    ProcReact_Future f;
    memset(&f, 0, sizeof f);
    f.pid = g_odd_next[g_odd_index++];
    f.fd = -1;
    f.type = procreact_create_string_type();
    return f;
}

static void odd_pids_in_futures(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    g_odd_index = 0;
    g_fork_fails = g_other = 0;
    const size_t n = 4; /* 0, -1, -7, INT_MIN; all FORK_FAIL */
    for (size_t k = 0; k < n; ++k) {
        ProcReact_FutureIterator it =
            procreact_initialize_future_iterator(odd_has_next, odd_future_next, count_complete, NULL);
        assert_true(procreact_spawn_next_future(&it));
        procreact_destroy_future_iterator(&it);
    }
    /* pid -1 is reported as -1; 0 and the others as themselves, but all FORK_FAIL */
    assert_int_equal(g_fork_fails + g_other, (long)n);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the bad-input tests", (unsigned)(getenv("HARDENING_SCALE") ? 600 : 60));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(odd_pids_to_the_wait_functions),
        cmocka_unit_test(odd_pids_from_next),
        cmocka_unit_test(odd_pids_in_futures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
