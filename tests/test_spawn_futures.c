/* SPDX-License-Identifier: MIT */
/*
 * procreact_spawn.h: spawned futures where they meet the rest of the
 * library. Many inside a future iterator, a custom type over a program
 * whose stdout is not captured, a running one destroyed, and eight threads
 * spawning at once.
 */
#include "test.h"

#include <pthread.h>

#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

/* ------------------------------------------------------------- iterators */

typedef struct {
    ProcReact_Command *command;
    int next, total, right, err_right;
} SpawnWork;

static ProcReact_bool spawn_has_next(void *data) { return ((SpawnWork *)data)->next < ((SpawnWork *)data)->total; }

static ProcReact_Future spawn_next(void *data)
{
    SpawnWork *w = (SpawnWork *)data;
    char input[32];
    snprintf(input, sizeof input, "%d", w->next++);
    procreact_command_set_stdin_bytes(w->command, input, strlen(input));
    return procreact_command_spawn(w->command, procreact_create_string_type());
}

static void spawn_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    SpawnWork *w = (SpawnWork *)data;
    ProcReact_ExitInfo info;
    char *out = (char *)future->result;
    if (procreact_future_info(future, &info) == 0) {
        /* The script echoes its input to stdout and "e<input>" to stderr, exits with input % 7. */
        int n = out != NULL ? atoi(out) : -1;
        if (status == PROCREACT_STATUS_OK && n >= 0 && info.exited && info.exit_code == n % 7) {
            char want[40];
            snprintf(want, sizeof want, "e%d", n);
            ++w->right;
            if (info.stderr_length == strlen(want) && memcmp(info.stderr_data, want, info.stderr_length) == 0)
                ++w->err_right;
        }
        free(info.stderr_data);
    }
    free(out);
}

static void test_spawn_in_iterator(void **state)
{
    const char *argv[] = {"sh", "-c", "read n; echo $n; printf e$n >&2; exit $((n % 7))", NULL};
    SpawnWork work;
    ProcReact_FutureIterator it;
    (void)state;
    memset(&work, 0, sizeof work);
    work.total = t_under_valgrind() ? 8 : 40;
    work.command = procreact_command_new(argv);
    procreact_command_set_stderr(work.command, PROCREACT_OUTPUT_CAPTURE, -1);
    it = procreact_initialize_future_iterator(spawn_has_next, spawn_next, spawn_complete, &work);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 4);
    procreact_destroy_future_iterator(&it);
    procreact_command_free(work.command);
    /* exit code 0 gives the string, non-zero gives NULL (0.1 rule): count both */
    assert_true(work.right >= work.total / 7);
    assert_int_equal(work.right, work.err_right);
    assert_true(t_no_children());
}

/* A custom type over a program whose stdout is not captured: nothing to
 * read, the future still completes. */
static void *nothing_init(void) { return calloc(1, 1); }

static ssize_t nothing_append(ProcReact_Type *type, void *state, int fd)
{
    (void)type;
    (void)state;
    return read(fd, NULL, 0) < 0 ? -1 : 0;
}

static void *nothing_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    procreact_wait_for_exit_status(pid, status);
    return state;
}

static void test_spawn_custom_type_without_capture(void **state)
{
    const char *argv[] = {"sh", "-c", "exit 5", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    ProcReact_Type type;
    ProcReact_Future f;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    void *r;
    (void)state;
    memset(&type, 0, sizeof type);
    type.initialize = nothing_init;
    type.append = nothing_append;
    type.finalize = nothing_finalize;
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_DISCARD, -1), 0);
    f = procreact_command_spawn(c, type);
    procreact_command_free(c);
    assert_true(f.pid > 0);
    assert_int_equal(f.fd, -1); /* nothing captured */
    r = procreact_future_get_with_info(&f, &status, &info);
    assert_non_null(r);
    free(r);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exit_code, 5);
}

static void test_spawn_destroy_kills(void **state)
{
    const char *argv[] = {"sleep", "30", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    ProcReact_Future f;
    int before = t_count_fds();
    (void)state;
    f = procreact_command_spawn(c, procreact_create_string_type());
    assert_true(f.pid > 0);
    procreact_destroy_future(&f);
    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), before);
    procreact_command_free(c);
}

/* ---------------------------------------------------------------- threads */

typedef struct {
    int id, count, right;
} ThreadWork;

static void *spawn_thread(void *arg)
{
    ThreadWork *w = (ThreadWork *)arg;
    int i;
    for (i = 0; i < w->count; ++i) {
        char word[32], want[40];
        const char *argv[] = {"/bin/echo", word, NULL};
        ProcReact_Command *c;
        ProcReact_Future f;
        ProcReact_Status status;
        char *out;
        snprintf(word, sizeof word, "t%d-%d", w->id, i);
        snprintf(want, sizeof want, "%s\n", word);
        c = procreact_command_new(argv);
        f = procreact_command_spawn(c, procreact_create_string_type());
        procreact_command_free(c);
        out = (char *)procreact_future_get(&f, &status);
        if (status == PROCREACT_STATUS_OK && out != NULL && strcmp(out, want) == 0)
            ++w->right;
        free(out);
    }
    return NULL;
}

static void test_spawn_from_eight_threads(void **state)
{
    pthread_t threads[8];
    ThreadWork work[8];
    const int count = t_under_valgrind() ? 20 : 500;
    int i;
    (void)state;
    for (i = 0; i < 8; ++i) {
        work[i].id = i;
        work[i].count = count;
        work[i].right = 0;
        assert_int_equal(pthread_create(&threads[i], NULL, spawn_thread, &work[i]), 0);
    }
    for (i = 0; i < 8; ++i) {
        pthread_join(threads[i], NULL);
        assert_int_equal(work[i].right, count);
    }
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_in_iterator),
        cmocka_unit_test(test_spawn_custom_type_without_capture),
        cmocka_unit_test(test_spawn_destroy_kills),
        cmocka_unit_test(test_spawn_from_eight_threads),
    };
    return cmocka_run_group_tests_name("spawn_futures", tests, NULL, NULL);
}
