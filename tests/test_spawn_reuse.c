/* SPDX-License-Identifier: MIT */
/*
 * One command spawned many times: after each edit the program sees the
 * command as it is now, and two commands that differ see their own (the
 * posix_spawn() fallback reuses its last file actions while they say the
 * same, and must never reuse stale ones); one command spawned from several
 * threads at once gives every thread its own right output.
 * Built twice: with the launcher and with PROCREACT_NO_CLONE_EXEC=1.
 */
#include "test.h"

#include <pthread.h>

#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

/* The command's stdout as a string; the status must be OK. */
static char *output_of(const ProcReact_Command *c)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_Future f = procreact_command_spawn(c, procreact_create_string_type());
    char *out = (char *)procreact_future_get(&f, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(out);
    return out;
}

static void expect_output(const ProcReact_Command *c, const char *want)
{
    char *out = output_of(c);
    assert_string_equal(out, want);
    free(out);
}

static void test_reuse_after_edits(void **state)
{
    const char *argv[] = {"sh", "-c", "pwd; echo err >&2; set -- $(cat /proc/$$/stat); [ $1 = $5 ] && echo leader; true",
                          NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    int pipe_fds[2];
    char buf[64];
    ssize_t n;
    (void)state;
    assert_non_null(c);
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_DISCARD, -1), 0);
    assert_int_equal(procreact_command_set_cwd(c, "/tmp"), 0);
    expect_output(c, "/tmp\n");
    expect_output(c, "/tmp\n"); /* the same again: reused */
    assert_int_equal(procreact_command_set_cwd(c, "/"), 0);
    expect_output(c, "/\n");
    assert_int_equal(procreact_command_set_new_process_group(c, 1), 0);
    expect_output(c, "/\nleader\n");
    assert_int_equal(procreact_command_set_new_process_group(c, 0), 0);
    expect_output(c, "/\n");
    /* stderr merged into the captured stdout, then discarded again. */
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_MERGE, -1), 0);
    expect_output(c, "/\nerr\n");
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_DISCARD, -1), 0);
    expect_output(c, "/\n");
    /* stdout to a descriptor of ours: nothing captured, all in the pipe. */
    assert_int_equal(pipe(pipe_fds), 0);
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_FD, pipe_fds[1]), 0);
    expect_output(c, "");
    close(pipe_fds[1]);
    n = read(pipe_fds[0], buf, sizeof buf - 1);
    close(pipe_fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "/\n");
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_CAPTURE, -1), 0);
    expect_output(c, "/\n");
    procreact_command_free(c);
    assert_true(t_no_children());
}

/* Two commands in turn, each in its own directory. */
static void test_two_commands_in_turn(void **state)
{
    const char *argv[] = {"pwd", NULL};
    ProcReact_Command *a = procreact_command_new(argv), *b = procreact_command_new(argv);
    int i;
    (void)state;
    assert_int_equal(procreact_command_set_cwd(a, "/tmp"), 0);
    assert_int_equal(procreact_command_set_cwd(b, "/"), 0);
    for (i = 0; i < 3; ++i) {
        expect_output(a, "/tmp\n");
        expect_output(b, "/\n");
    }
    procreact_command_free(a);
    procreact_command_free(b);
}

typedef struct {
    const ProcReact_Command *command;
    int count;
    int right;
} ReuseWork;

static void *reuse_thread(void *arg)
{
    ReuseWork *w = (ReuseWork *)arg;
    int i;
    for (i = 0; i < w->count; ++i) {
        ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
        ProcReact_Future f = procreact_command_spawn(w->command, procreact_create_string_type());
        char *out = (char *)procreact_future_get(&f, &status);
        if (status == PROCREACT_STATUS_OK && out != NULL && strcmp(out, "same\n") == 0)
            ++w->right;
        free(out);
    }
    return NULL;
}

/* One command, four threads spawning it at once. */
static void test_reuse_from_four_threads(void **state)
{
    const char *argv[] = {"echo", "same", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    pthread_t threads[4];
    ReuseWork work[4];
    const int count = t_under_valgrind() ? 10 : 200;
    int i;
    (void)state;
    assert_non_null(c);
    for (i = 0; i < 4; ++i) {
        work[i].command = c;
        work[i].count = count;
        work[i].right = 0;
        assert_int_equal(pthread_create(&threads[i], NULL, reuse_thread, &work[i]), 0);
    }
    for (i = 0; i < 4; ++i) {
        pthread_join(threads[i], NULL);
        assert_int_equal(work[i].right, count);
    }
    procreact_command_free(c);
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_after_edits),
        cmocka_unit_test(test_two_commands_in_turn),
        cmocka_unit_test(test_reuse_from_four_threads),
    };
    return cmocka_run_group_tests_name("spawn_reuse", tests, NULL, NULL);
}
