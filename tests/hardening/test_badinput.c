/* SPDX-License-Identifier: MIT */
/*
 * Suite 'badinput': NULL iterators, NULL callbacks, types with NULL members,
 * pid 0 and negative pids, limit 0, bad descriptors and NULL states. Each
 * has the outcome the headers document, and nothing crashes, hangs, leaks or
 * reaps a child that is not the library's.
 */
#include "hard.h"

#include <fcntl.h>
#include <limits.h>

#include <procreact.h>

/* ---- NULL everywhere ---- */

static void null_iterators(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    assert_int_equal(procreact_spawn_next_future(NULL), 0);
    assert_int_equal(procreact_buffer(NULL), 0);
    procreact_fork_in_parallel_buffer_and_wait(NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(NULL, 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(NULL, 4);
    procreact_destroy_future_iterator(NULL);

    assert_int_equal(procreact_spawn_next_pid(NULL), 0);
    assert_int_equal(procreact_wait_for_process_to_complete(NULL), 0);
    procreact_fork_in_parallel_and_wait(NULL);
    procreact_fork_and_wait_in_parallel_limit(NULL, 0);
    procreact_fork_and_wait_in_parallel_limit(NULL, 3);
    procreact_complete_all_finished_processes(NULL);
    procreact_destroy_pid_iterator(NULL);

    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(NULL, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    assert_null(procreact_future_get(NULL, NULL));
    procreact_destroy_future(NULL);
    procreact_free_string_array(NULL);
    HARD_ASSERT_NO_LEAK(before);
}

static int g_calls;

static ProcReact_bool never(void *data)
{
    (void)data;
    g_calls++;
    return 0;
}

static ProcReact_bool always(void *data)
{
    (void)data;
    g_calls++;
    return 1;
}

static void iterators_with_null_callbacks(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    /* has_next or next NULL: nothing is spawned, nothing loops */
    ProcReact_FutureIterator f1 = procreact_initialize_future_iterator(NULL, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_future(&f1), 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(&f1, 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(&f1, 2);
    assert_int_equal(procreact_buffer(&f1), 0);
    procreact_destroy_future_iterator(&f1);

    g_calls = 0;
    ProcReact_FutureIterator f2 = procreact_initialize_future_iterator(always, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_future(&f2), 0);
    procreact_fork_in_parallel_buffer_and_wait(&f2);
    procreact_destroy_future_iterator(&f2);

    ProcReact_PidIterator p1 = procreact_initialize_pid_iterator(NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_pid(&p1), 0);
    procreact_fork_and_wait_in_parallel_limit(&p1, 0);
    procreact_fork_and_wait_in_parallel_limit(&p1, 5);
    assert_int_equal(procreact_wait_for_process_to_complete(&p1), 0);
    procreact_complete_all_finished_processes(&p1);
    procreact_destroy_pid_iterator(&p1);

    ProcReact_PidIterator p2 = procreact_initialize_pid_iterator(always, NULL, NULL, NULL, NULL);
    assert_int_equal(procreact_spawn_next_pid(&p2), 0);
    procreact_fork_in_parallel_and_wait(&p2);

    g_calls = 0;
    ProcReact_PidIterator p3 = procreact_initialize_pid_iterator(never, NULL, NULL, NULL, NULL);
    procreact_fork_in_parallel_and_wait(&p3);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- NULL complete and NULL retrieve: results are freed, children reaped ---- */

static long g_left;

static ProcReact_bool some_left(void *data)
{
    (void)data;
    return g_left > 0;
}

static ProcReact_Future string_array_next(void *data)
{
    (void)data;
    g_left--;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_array_type('\n'));
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "x\ny\n", 4) == 0 ? 0 : 1);
    return f;
}

static pid_t exit7_next(void *data)
{
    (void)data;
    g_left--;
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    return pid;
}

static void null_complete_and_retrieve(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    g_left = 50;
    ProcReact_FutureIterator fit = procreact_initialize_future_iterator(some_left, string_array_next, NULL, NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(&fit, 4);
    assert_int_equal(g_left, 0);
    procreact_destroy_future_iterator(&fit);

    g_left = 50;
    ProcReact_PidIterator pit = procreact_initialize_pid_iterator(some_left, exit7_next, NULL, NULL, NULL);
    procreact_fork_and_wait_in_parallel_limit(&pit, 4);
    assert_int_equal(g_left, 0);
    assert_int_equal(pit.running_processes, 0);
    HARD_ASSERT_NO_LEAK(before); /* under valgrind/ASan: the results were freed */
}

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

static long g_fork_fails, g_other;

static void count_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    (void)data;
    if (status == PROCREACT_STATUS_FORK_FAIL && future->result == NULL && future->pid == -1)
        g_fork_fails++;
    else
        g_other++;
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

/* ---- limit 0 means no limit ---- */

static unsigned g_max_running;
static ProcReact_PidIterator *g_watched;

static pid_t slow_next(void *data)
{
    (void)data;
    g_left--;
    pid_t pid = fork();
    if (pid == 0) {
        hard_sleep_ms(200);
        _exit(0);
    }
    return pid;
}

static void note_running(void *data, pid_t pid, ProcReact_Status status, int result)
{
    (void)data;
    (void)pid;
    (void)status;
    (void)result;
    if (g_watched->running_processes + 1 > g_max_running)
        g_max_running = g_watched->running_processes + 1;
}

static void limit_zero_is_no_limit(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    g_left = 20;
    g_max_running = 0;
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(some_left, slow_next, NULL, note_running, NULL);
    g_watched = &it;
    procreact_fork_and_wait_in_parallel_limit(&it, 0);
    assert_int_equal(g_left, 0);
    assert_int_equal(g_max_running, 20); /* all were running at the first completion */

    g_left = 30;
    ProcReact_FutureIterator fit = procreact_initialize_future_iterator(some_left, string_array_next, NULL, NULL);
    procreact_fork_buffer_and_wait_in_parallel_limit(&fit, 0);
    assert_int_equal(g_left, 0);
    assert_int_equal(fit.running_processes, 0);
    procreact_destroy_future_iterator(&fit);
    procreact_destroy_future_iterator(&fit); /* twice */
    /* and the iterator can be used again after destroy */
    g_left = 3;
    procreact_fork_buffer_and_wait_in_parallel_limit(&fit, 1);
    assert_int_equal(g_left, 0);
    procreact_destroy_future_iterator(&fit);
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
        cmocka_unit_test(null_iterators),
        cmocka_unit_test(iterators_with_null_callbacks),
        cmocka_unit_test(null_complete_and_retrieve),
        cmocka_unit_test(types_with_null_members),
        cmocka_unit_test(iterator_with_refused_types),
        cmocka_unit_test(odd_pids_to_the_wait_functions),
        cmocka_unit_test(odd_pids_from_next),
        cmocka_unit_test(odd_pids_in_futures),
        cmocka_unit_test(limit_zero_is_no_limit),
        cmocka_unit_test(building_blocks),
        cmocka_unit_test(futures_misused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
