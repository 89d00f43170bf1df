/* SPDX-License-Identifier: MIT */
/*
 * procreact_batch.h: many programs, one call per batch. Results and their
 * owner, the in-flight limit, exec errors among siblings, time and output
 * limits, cancellation of running and queued jobs, one input for every
 * job, bad input, and nothing left behind by free. Waiting for the
 * results: test_batch_wait.c.
 */
#include "batch_test.h"

#include <math.h>

#include <procreact_channel.h>

/* Waits until every job is handed out; calls @p check on each result. */
static size_t drain(ProcReact_Batch *b, void (*check)(const ProcReact_BatchResult *, void *), void *data)
{
    ProcReact_BatchResult out[4];
    size_t seen = 0;
    while (procreact_batch_remaining(b) > 0) {
        ssize_t n = procreact_batch_wait(b, out, 4, -1);
        assert_true(n > 0 && n <= 4);
        for (ssize_t i = 0; i < n; i++)
            check(&out[i], data);
        seen += (size_t)n;
    }
    assert_int_equal(procreact_batch_wait(b, out, 4, -1), 0);
    return seen;
}

typedef struct {
    int seen[64];
} Seen;

static void check_echo(const ProcReact_BatchResult *r, void *data)
{
    Seen *s = data;
    char want[32];
    assert_true(r->index < 64);
    s->seen[r->index]++;
    assert_int_equal(r->status, PROCREACT_STATUS_OK);
    assert_int_equal(r->info.exited, 1);
    assert_int_equal(r->info.exit_code, (int)(r->index % 7));
    assert_null(r->info.stderr_data);
    snprintf(want, sizeof want, "out-%zu\n", r->index);
    assert_int_equal(r->stdout_length, strlen(want));
    assert_memory_equal(r->stdout_data, want, strlen(want));
    snprintf(want, sizeof want, "err-%zu\n", r->index);
    assert_int_equal(r->stderr_length, strlen(want));
    assert_memory_equal(r->stderr_data, want, strlen(want));
}

static void test_batch_runs_every_job_once(void **state)
{
    ProcReact_Batch *b = make_batch(1, 5);
    const char *argv[64 * 5];
    size_t counts[64];
    char numbers[64][8];
    Seen s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 64; i++) {
        snprintf(numbers[i], sizeof numbers[i], "%d", i);
        argv[i * 5] = "sh";
        argv[i * 5 + 1] = "-c";
        argv[i * 5 + 2] = "echo out-$1; echo err-$1 >&2; exit $(($1 % 7))";
        argv[i * 5 + 3] = "sh";
        argv[i * 5 + 4] = numbers[i];
        counts[i] = 5;
    }
    /* Two submits: indexes go on from the first. */
    assert_int_equal(procreact_batch_submit(b, argv, counts, 40), 0);
    assert_int_equal(procreact_batch_submit(b, argv + 40 * 5, counts + 40, 24), 40);
    assert_int_equal(procreact_batch_remaining(b), 64);
    assert_int_equal(drain(b, check_echo, &s), 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(s.seen[i], 1);
    procreact_batch_free(b);
    assert_true(t_no_children());
}

static void test_batch_keeps_the_limit(void **state)
{
    /* Six jobs of 0.3 s, two at a time: three rounds, never fewer. */
    ProcReact_Batch *b = make_batch(0, 2);
    ProcReact_BatchResult out[8];
    double t0 = t_now();
    size_t got = 0;
    for (int i = 0; i < 6; i++)
        assert_true(submit_sh(b, "sleep 0.3", NULL) >= 0);
    while (got < 6) {
        ssize_t n = procreact_batch_wait(b, out, 8, -1);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_true(t_now() - t0 >= 0.85);
    procreact_batch_free(b);
}

static void check_exec_errors(const ProcReact_BatchResult *r, void *data)
{
    int *bad = data;
    if (r->index % 2 == 1) {
        assert_int_equal(r->status, PROCREACT_STATUS_FORK_FAIL);
        assert_int_equal(r->info.exec_errno, ENOENT);
        assert_null(r->stdout_data);
        (*bad)++;
    } else {
        assert_int_equal(r->status, PROCREACT_STATUS_OK);
        assert_int_equal(r->info.exec_errno, 0);
        assert_int_equal(r->stdout_length, 3);
        assert_memory_equal(r->stdout_data, "ok\n", 3);
    }
}

static void test_batch_exec_errors_among_siblings(void **state)
{
    ProcReact_Batch *b = make_batch(0, 3);
    const char *argv[] = {"echo", "ok", "/nonexistent/procreact-no-such-program", "echo", "ok",
                          "procreact-no-such-program-in-path", "echo", "ok"};
    size_t counts[] = {2, 1, 2, 1, 2};
    int bad = 0;
    assert_int_equal(procreact_batch_submit(b, argv, counts, 5), 0);
    assert_int_equal(drain(b, check_exec_errors, &bad), 5);
    assert_int_equal(bad, 2);
    procreact_batch_free(b);
}

static void test_batch_timeout_and_output_limit(void **state)
{
    ProcReact_Batch *b = make_batch(0, 4);
    ProcReact_BatchResult out[4];
    double t0 = t_now();
    size_t got = 0;
    assert_int_equal(procreact_batch_set_timeout(b, 0.2), 0);
    assert_int_equal(procreact_batch_set_stop(b, SIGTERM, 1.0), 0);
    assert_int_equal(procreact_batch_set_output_limit(b, 1000), 0);
    assert_int_equal(submit_sh(b, "exec sleep 30", NULL), 0);
    assert_int_equal(submit_sh(b, "exec yes", NULL), 1);
    assert_int_equal(submit_sh(b, "echo fine", NULL), 2);
    while (got < 3) {
        ssize_t n = procreact_batch_wait(b, out, 4, -1);
        assert_true(n > 0);
        for (ssize_t i = 0; i < n; i++) {
            const ProcReact_BatchResult *r = &out[i];
            if (r->index == 0) {
                assert_true(r->info.flags & PROCREACT_EXIT_TIMED_OUT);
                assert_int_equal(r->info.signal, SIGTERM);
            } else if (r->index == 1) {
                assert_true(r->info.flags & PROCREACT_EXIT_OUTPUT_LIMIT);
                assert_true(r->stdout_length <= 1000);
            } else {
                assert_int_equal(r->info.flags, 0);
                assert_int_equal(r->stdout_length, 5);
            }
        }
        got += (size_t)n;
    }
    assert_true(t_now() - t0 < 5.0);
    procreact_batch_free(b);
}

static void test_batch_cancel(void **state)
{
    ProcReact_Batch *b = make_batch(0, 2);
    ProcReact_BatchResult out[16];
    int running = 0, queued = 0;
    double t0 = t_now();
    for (int i = 0; i < 10; i++)
        assert_int_equal(submit_sh(b, "exec sleep 30", NULL), i);
    assert_int_equal(procreact_batch_wait(b, out, 16, 0), 0); /* two start */
    assert_int_equal(procreact_batch_cancel(b), 0);
    while (procreact_batch_remaining(b) > 0) {
        ssize_t n = procreact_batch_wait(b, out, 16, -1);
        assert_true(n > 0);
        for (ssize_t i = 0; i < n; i++) {
            assert_true(out[i].info.flags & PROCREACT_EXIT_CANCELLED);
            if (out[i].status == PROCREACT_STATUS_FORK_FAIL) {
                assert_int_equal(out[i].info.exec_errno, ECANCELED);
                queued++;
            } else {
                assert_int_equal(out[i].info.signal, SIGTERM);
                running++;
            }
        }
    }
    assert_int_equal(running, 2);
    assert_int_equal(queued, 8);
    assert_true(t_now() - t0 < 5.0);
    errno = 0;
    assert_int_equal(submit_sh(b, "true", NULL), -1);
    assert_int_equal(errno, ECANCELED);
    procreact_batch_free(b);
    assert_true(t_no_children());
}

static void test_batch_input_for_every_job(void **state)
{
    ProcReact_Command *c = template_command(0);
    ProcReact_Batch *b;
    const char *argv[] = {"cat", "cat", "cat"};
    size_t counts[] = {1, 1, 1};
    assert_int_equal(procreact_command_set_stdin_bytes(c, "shared input", 12), 0);
    b = procreact_batch_new(c, 3);
    procreact_command_free(c);
    assert_non_null(b);
    assert_int_equal(procreact_batch_submit(b, argv, counts, 3), 0);
    while (procreact_batch_remaining(b) > 0) {
        ProcReact_BatchResult out[3];
        ssize_t n = procreact_batch_wait(b, out, 3, -1);
        for (ssize_t i = 0; i < n; i++) {
            assert_int_equal(out[i].stdout_length, 12);
            assert_memory_equal(out[i].stdout_data, "shared input", 12);
        }
    }
    procreact_batch_free(b);
}

static void test_batch_free_kills_and_reaps(void **state)
{
    int before = t_count_fds();
    ProcReact_Batch *b = make_batch(0, 3);
    ProcReact_BatchResult out[1];
    double t0 = t_now();
    for (int i = 0; i < 5; i++)
        assert_int_equal(submit_sh(b, "exec sleep 30", NULL), i);
    assert_int_equal(procreact_batch_wait(b, out, 1, 0), 0);
    procreact_batch_free(b);
    assert_true(t_now() - t0 < 5.0);
    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), before);
}

static void test_batch_bad_input(void **state)
{
    ProcReact_Command *c = template_command(0);
    ProcReact_Batch *b;
    ProcReact_BatchResult out[1];
    const char *empty[] = {""};
    const char *with_null[] = {"echo", NULL};
    size_t one = 1, two = 2, zero = 0;

    errno = 0;
    assert_null(procreact_batch_new(NULL, 1));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(procreact_batch_new(c, 0));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_command_set_channel(c, PROCREACT_CHANNEL_LINES), 0);
    errno = 0;
    assert_null(procreact_batch_new(c, 1));
    assert_int_equal(errno, EINVAL);
    procreact_command_free(c);

    b = make_batch(0, 1);
    errno = 0;
    assert_int_equal(procreact_batch_submit(NULL, with_null, &one, 1), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_submit(b, NULL, &one, 1), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_submit(b, with_null, &zero, 1), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_submit(b, empty, &one, 1), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_submit(b, with_null, &two, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_batch_submit(b, NULL, NULL, 0), 0); /* nothing: fine */
    assert_int_equal(procreact_batch_remaining(b), 0);
    errno = 0;
    assert_int_equal(procreact_batch_wait(NULL, out, 1, 0), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_wait(b, NULL, 1, 0), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_set_timeout(b, NAN), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_set_stop(b, -1, 1.0), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_batch_set_output_limit(NULL, 1), -1);
    assert_int_equal(procreact_batch_fd(NULL), -1);
    assert_int_equal(procreact_batch_cancel(NULL), -1);
    assert_int_equal(procreact_batch_remaining(NULL), 0);
    procreact_batch_free(NULL);
    procreact_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_runs_every_job_once),
        cmocka_unit_test(test_batch_keeps_the_limit),
        cmocka_unit_test(test_batch_exec_errors_among_siblings),
        cmocka_unit_test(test_batch_timeout_and_output_limit),
        cmocka_unit_test(test_batch_cancel),
        cmocka_unit_test(test_batch_input_for_every_job),
        cmocka_unit_test(test_batch_free_kills_and_reaps),
        cmocka_unit_test(test_batch_bad_input),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
