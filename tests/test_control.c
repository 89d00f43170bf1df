/* SPDX-License-Identifier: MIT */
/*
 * procreact_control.h: deadlines, the stop sequence, cancellation, output
 * limits, the output type, and the pollable descriptor with its
 * non-blocking step, for futures and both iterator kinds.
 */
#include "test.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

static ProcReact_Future spawn_sh(const char *script, int new_group, ProcReact_Type type)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    assert_non_null(command);
    if (new_group)
        assert_int_equal(procreact_command_set_new_process_group(command, 1), 0);
    future = procreact_command_spawn(command, type);
    procreact_command_free(command);
    assert_true(future.pid > 0);
    return future;
}

static void free_bytes(void *result)
{
    if (result != NULL) {
        free(((ProcReact_BytesState *)result)->data);
        free(result);
    }
}

/* Whether @p pid stops running within @p ms: it is gone, or a zombie that
 * init has not reaped yet. */
static int gone_within(pid_t pid, long ms)
{
    double until = t_now() + (double)ms / 1000.0;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    while (t_now() < until) {
        FILE *f = fopen(path, "r");
        int running = 0;
        if (f == NULL)
            return 1;
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "State:", 6) == 0)
                running = strchr(line, 'Z') == NULL && strchr(line, 'X') == NULL;
        fclose(f);
        if (!running)
            return 1;
        t_sleep_ms(10);
    }
    return 0;
}

/* ------------------------------------------------------------ one future */

static void test_timeout_stops_a_hung_program(void **state)
{
    ProcReact_Future future = spawn_sh("echo started; exec sleep 100", 0, procreact_create_string_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    double start = t_now(), took;
    char *out;
    (void)state;
    assert_int_equal(procreact_future_set_timeout(&future, 0.2), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    took = t_now() - start;
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_int_equal(info.signal, SIGTERM);
    assert_true(took >= 0.19);
    assert_true(took < 5.0);
    /* What arrived before the stop is kept, even for the string type. */
    assert_non_null(out);
    assert_string_equal(out, "started\n");
    free(out);
    free(info.stderr_data);
}

static void test_grace_then_kill(void **state)
{
    ProcReact_Future future = spawn_sh("trap '' TERM; echo ready; while :; do sleep 0.05; done", 1,
                                       procreact_create_output_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    ProcReact_BytesState *out;
    double start = t_now(), took;
    (void)state;
    assert_int_equal(procreact_future_set_stop(&future, SIGTERM, 0.3), 0);
    assert_int_equal(procreact_future_set_timeout(&future, 0.1), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    took = t_now() - start;
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_int_equal(info.signal, SIGKILL);
    assert_true(took >= 0.35);
    assert_true(took < 5.0);
    assert_non_null(out);
    assert_int_equal(out->data_size, 6);
    assert_memory_equal(out->data, "ready\n", 6);
    free(out->data);
    free(out);
}

static void test_group_stop_reaches_grandchild(void **state)
{
    /* The grandchild holds the output pipe: only a group stop ends it. */
    ProcReact_Future future = spawn_sh("sleep 100 & echo $!; wait", 1, procreact_create_string_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    pid_t grandchild;
    (void)state;
    assert_int_equal(procreact_future_set_timeout(&future, 0.3), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_non_null(out);
    grandchild = (pid_t)atoi(out);
    assert_true(grandchild > 0);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_true(gone_within(grandchild, 3000));
    free(out);
}

static void test_pipe_held_outside_group_is_abandoned(void **state)
{
    /* No new group: the grandchild survives the stop and keeps the pipe
     * open; reading is abandoned shortly after SIGKILL. */
    ProcReact_Future future = spawn_sh("sleep 3 & exec sleep 100", 0, procreact_create_bytes_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    double start = t_now(), took;
    void *out;
    (void)state;
    assert_int_equal(procreact_future_set_stop(&future, SIGKILL, 0), 0);
    assert_int_equal(procreact_future_set_timeout(&future, 0.1), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    took = t_now() - start;
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_int_equal(info.signal, SIGKILL);
    assert_true(took < 2.0);
    free_bytes(out);
}

static void test_output_limit(void **state)
{
    ProcReact_Future future = spawn_sh("yes", 0, procreact_create_bytes_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    ProcReact_BytesState *out;
    unsigned int i;
    (void)state;
    assert_int_equal(procreact_future_set_output_limit(&future, 100001), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_true(info.flags & PROCREACT_EXIT_OUTPUT_LIMIT);
    assert_false(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_non_null(out);
    assert_int_equal(out->data_size, 100001);
    for (i = 0; i < out->data_size; i++)
        assert_int_equal(((char *)out->data)[i], i % 2 == 0 ? 'y' : '\n');
    free(out->data);
    free(out);
}

static void test_output_limit_on_stderr(void **state)
{
    const char *argv[] = {"sh", "-c", "yes err >&2", NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    void *out;
    (void)state;
    assert_int_equal(procreact_command_set_stderr(command, PROCREACT_OUTPUT_CAPTURE, -1), 0);
    future = procreact_command_spawn(command, procreact_create_output_type());
    procreact_command_free(command);
    assert_int_equal(procreact_future_set_output_limit(&future, 1000), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_true(info.flags & PROCREACT_EXIT_OUTPUT_LIMIT);
    assert_int_equal(info.stderr_length, 1000);
    assert_memory_equal(info.stderr_data, "err\nerr\n", 8);
    free(info.stderr_data);
    assert_non_null(out);
    assert_int_equal(((ProcReact_BytesState *)out)->data_size, 0);
    free(out);
}

static void test_output_type_keeps_failed_output(void **state)
{
    ProcReact_Future future = spawn_sh("printf 'half'; exit 3", 0, procreact_create_output_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    ProcReact_BytesState *out;
    (void)state;
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exit_code, 3);
    assert_int_equal(info.flags, 0);
    assert_non_null(out);
    assert_int_equal(out->data_size, 4);
    assert_memory_equal(out->data, "half", 4);
    free(out->data);
    free(out);
    /* The bytes type keeps 0.1's rule. */
    future = spawn_sh("printf 'half'; exit 3", 0, procreact_create_bytes_type());
    assert_null(procreact_future_get(&future, &status));
}

static void test_cancel_waiting_future(void **state)
{
    ProcReact_Future future = spawn_sh("exec sleep 100", 0, procreact_create_bytes_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    (void)state;
    assert_int_equal(procreact_future_cancel(&future), 0);
    free_bytes(procreact_future_get_with_info(&future, &status, &info));
    assert_true(info.flags & PROCREACT_EXIT_CANCELLED);
    assert_int_equal(info.signal, SIGTERM);
    /* Finished now: nothing left to cancel. */
    assert_int_equal(procreact_future_cancel(&future), -1);
    assert_int_equal(errno, ESRCH);
}

typedef struct {
    ProcReact_Future future;
    long delay_ms;
    int rc;
} CancelLater;

static void *cancel_later(void *arg)
{
    CancelLater *c = arg;
    t_sleep_ms(c->delay_ms);
    c->rc = procreact_future_cancel(&c->future);
    return NULL;
}

static void test_cancel_get_from_another_thread(void **state)
{
    CancelLater c;
    pthread_t thread;
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    double start, took;
    (void)state;
    c.future = spawn_sh("trap '' TERM; while :; do sleep 0.05; done", 1, procreact_create_bytes_type());
    c.delay_ms = 200;
    c.rc = 99;
    assert_int_equal(procreact_future_set_stop(&c.future, SIGTERM, 0.2), 0);
    start = t_now();
    assert_int_equal(pthread_create(&thread, NULL, cancel_later, &c), 0);
    free_bytes(procreact_future_get_with_info(&c.future, &status, &info));
    took = t_now() - start;
    pthread_join(thread, NULL);
    assert_int_equal(c.rc, 0);
    assert_true(info.flags & PROCREACT_EXIT_CANCELLED);
    assert_int_equal(info.signal, SIGKILL); /* TERM ignored: killed after the grace */
    assert_true(took >= 0.35);
    assert_true(took < 5.0);
}

static void test_forked_future_deadline(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    (void)state;
    if (future.pid == 0) {
        t_write_str(future.fd, "partial");
        pause();
        _exit(0);
    }
    assert_true(future.pid > 0);
    assert_int_equal(procreact_future_set_timeout(&future, 0.1), 0);
    out = procreact_future_get_with_info(&future, &status, &info);
    assert_true(info.flags & PROCREACT_EXIT_TIMED_OUT);
    assert_non_null(out);
    assert_string_equal(out, "partial");
    free(out);
}

static void test_bad_input(void **state)
{
    ProcReact_Future future = spawn_sh("exit 0", 0, procreact_create_bytes_type());
    ProcReact_Future copy = future;
    ProcReact_Status status;
    (void)state;
    errno = 0;
    assert_int_equal(procreact_future_set_timeout(NULL, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_timeout(&future, NAN), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_stop(&future, 65, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_stop(&future, SIGTERM, -1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_cancel(NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_set_timeout(&future, -1), 0); /* removes: fine */
    free_bytes(procreact_future_get(&future, &status));
    assert_int_equal(procreact_future_set_timeout(&future, 1), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(procreact_future_set_output_limit(&copy, 1), -1); /* stale copy */
    assert_int_equal(errno, ESRCH);
    assert_non_null(procreact_version());
    assert_int_equal(strncmp(procreact_version(), "0.", 2), 0);
}

/* ------------------------------------------------------- future iterators */

typedef struct {
    int total, spawned, completed, timed_out, cancelled, asked_after_cancel;
    int hung_index;     /* this item hangs, with a deadline of its own */
    double hung_done;   /* when it completed, from start */
    double others_done; /* when the last other item completed */
    double start;
    int cancel_at;      /* cancel the collection from the callback after this many */
    int cancelled_flag;
    ProcReact_FutureIterator *it;
    const char *script; /* every item's script */
} Run;

static ProcReact_bool run_has_next(void *data)
{
    Run *r = data;
    if (r->cancelled_flag)
        r->asked_after_cancel++;
    return r->spawned < r->total;
}

static ProcReact_Future run_next(void *data)
{
    Run *r = data;
    int index = __atomic_fetch_add(&r->spawned, 1, __ATOMIC_RELEASE); /* read by a cancelling thread */
    ProcReact_Future f =
        spawn_sh(index == r->hung_index ? "exec sleep 100" : r->script, 0, procreact_create_bytes_type());
    if (index == r->hung_index)
        assert_int_equal(procreact_future_set_timeout(&f, 0.1), 0);
    return f;
}

static void run_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    ProcReact_ExitInfo info;
    double when = t_now() - r->start;
    (void)status;
    assert_int_equal(procreact_future_info(future, &info), 0);
    r->completed++;
    if (info.flags & PROCREACT_EXIT_TIMED_OUT) {
        r->timed_out++;
        r->hung_done = when;
    } else if (when > r->others_done) {
        r->others_done = when;
    }
    if (info.flags & PROCREACT_EXIT_CANCELLED)
        r->cancelled++;
    if (future->result != NULL) {
        free(((ProcReact_BytesState *)future->result)->data);
        free(future->result);
    }
    if (r->cancel_at > 0 && r->completed == r->cancel_at) {
        assert_int_equal(procreact_future_iterator_cancel(r->it), 0);
        r->cancelled_flag = 1;
    }
}

static void run_init(Run *r, ProcReact_FutureIterator *it, int total, const char *script)
{
    memset(r, 0, sizeof *r);
    r->total = total;
    r->hung_index = -1;
    r->script = script;
    r->it = it;
    *it = procreact_initialize_future_iterator(run_has_next, run_next, run_complete, r);
    r->start = t_now();
}

static void test_iterator_deadline_never_delays_siblings(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    (void)state;
    run_init(&r, &it, 200, "exit 0");
    r.hung_index = 3;
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 8);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(r.completed, 200);
    assert_int_equal(r.timed_out, 1);
    assert_true(r.hung_done >= 0.09);
    assert_true(r.hung_done < 3.0);
}

static void test_iterator_default_timeout(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    double took;
    (void)state;
    run_init(&r, &it, 6, "exec sleep 100");
    assert_int_equal(procreact_future_iterator_set_timeout(&it, 0.2), 0);
    assert_int_equal(procreact_future_iterator_set_stop(&it, SIGKILL, 0), 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 3);
    took = t_now() - r.start;
    procreact_destroy_future_iterator(&it);
    assert_int_equal(r.completed, 6);
    assert_int_equal(r.timed_out, 6);
    assert_true(took >= 0.39); /* two rounds of three */
    assert_true(took < 4.0);
}

static void test_iterator_cancel_from_callback(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    (void)state;
    run_init(&r, &it, 1000, "exec sleep 100");
    r.hung_index = 0; /* completes first, at 0.1 s, and cancels everything */
    r.cancel_at = 1;
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 5);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(r.spawned, 5);
    assert_int_equal(r.completed, 5);
    assert_int_equal(r.cancelled, 4);
    assert_int_equal(r.asked_after_cancel, 0);
}

typedef struct {
    ProcReact_FutureIterator *it;
    const Run *run; /* when set: wait for its 4 children to have started first */
    long delay_ms;
    int rc;
} IterCancel;

static void *cancel_iterator_later(void *arg)
{
    IterCancel *c = arg;
    /* A slow (sanitized, loaded) machine may take longer than the delay to
     * start the children: the delay counts from the last spawn. */
    while (c->run != NULL && __atomic_load_n(&c->run->spawned, __ATOMIC_ACQUIRE) < 4)
        t_sleep_ms(5);
    t_sleep_ms(c->delay_ms);
    c->rc = procreact_future_iterator_cancel(c->it);
    return NULL;
}

static void test_iterator_cancel_from_another_thread(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    IterCancel c;
    pthread_t thread;
    double took;
    (void)state;
    run_init(&r, &it, 100, "trap '' TERM; while :; do sleep 0.05; done");
    assert_int_equal(procreact_future_iterator_set_stop(&it, SIGTERM, 0.2), 0);
    assert_true(procreact_future_iterator_fd(&it) >= 0); /* started: cancellable from a thread */
    c.it = &it;
    c.run = &r;
    c.delay_ms = 200;
    c.rc = 99;
    assert_int_equal(pthread_create(&thread, NULL, cancel_iterator_later, &c), 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 4);
    took = t_now() - r.start;
    pthread_join(thread, NULL);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(c.rc, 0);
    assert_int_equal(r.spawned, 4);
    assert_int_equal(r.completed, 4);
    assert_int_equal(r.cancelled, 4);
    assert_true(took >= 0.35);
    assert_true(took < 5.0);
}

/* A future kept by the client, cancelled while the iterator runs it. */
static ProcReact_Future g_kept;

static ProcReact_Future keep_next(void *data)
{
    Run *r = data;
    r->spawned++;
    g_kept = spawn_sh("exec sleep 100", 0, procreact_create_bytes_type());
    return g_kept;
}

static void test_cancel_kept_copy_inside_iterator(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    CancelLater c;
    pthread_t thread;
    (void)state;
    memset(&r, 0, sizeof r);
    r.total = 1;
    r.hung_index = -1;
    r.start = t_now();
    it = procreact_initialize_future_iterator(run_has_next, keep_next, run_complete, &r);
    r.it = &it;
    assert_true(procreact_spawn_next_future(&it));
    c.future = g_kept;
    c.delay_ms = 100;
    c.rc = 99;
    assert_int_equal(pthread_create(&thread, NULL, cancel_later, &c), 0);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    pthread_join(thread, NULL);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(c.rc, 0);
    assert_int_equal(r.completed, 1);
    assert_int_equal(r.cancelled, 1);
}

static void test_iterator_fd_and_step(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    int fd, active, steps = 0, max_running = 0;
    struct pollfd p;
    (void)state;
    run_init(&r, &it, 16, "sleep 0.3; echo done");
    fd = procreact_future_iterator_fd(&it);
    assert_true(fd > 2);
    assert_int_equal(procreact_future_iterator_fd(&it), fd); /* one per iterator */
    active = procreact_future_iterator_step(&it, 4);
    assert_int_equal(active, 1);
    assert_int_equal(it.running_processes, 4);
    /* Nothing can have happened yet: the descriptor is quiet. */
    p.fd = fd;
    p.events = POLLIN;
    assert_int_equal(poll(&p, 1, 0), 0);
    while (active == 1) {
        double before;
        assert_true(poll(&p, 1, 5000) == 1);
        before = t_now();
        active = procreact_future_iterator_step(&it, 4);
        assert_true(t_now() - before < 0.25); /* never waits for a child (they sleep 300 ms) */
        if ((int)it.running_processes > max_running)
            max_running = (int)it.running_processes;
        steps++;
    }
    assert_int_equal(active, 0);
    assert_int_equal(r.completed, 16);
    assert_int_equal(max_running, 4);
    assert_true(steps < 200); /* woken by progress, not spinning */
    assert_int_equal(procreact_future_iterator_step(&it, 4), 0);
    procreact_destroy_future_iterator(&it);
}

static void test_iterator_fd_wakes_for_deadline(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    struct pollfd p;
    double start;
    (void)state;
    run_init(&r, &it, 1, "exec sleep 100");
    assert_int_equal(procreact_future_iterator_set_timeout(&it, 0.2), 0);
    p.fd = procreact_future_iterator_fd(&it);
    p.events = POLLIN;
    assert_int_equal(procreact_future_iterator_step(&it, 0), 1);
    start = t_now();
    /* The child is silent: only the deadline can wake the loop. */
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(t_now() - start >= 0.18);
    while (procreact_future_iterator_step(&it, 0) == 1)
        assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(r.timed_out, 1);
    procreact_destroy_future_iterator(&it);
}

static void test_iterator_add_without_next(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    const char *missing[] = {"procreact-test-no-such-program", NULL};
    ProcReact_Command *command = procreact_command_new(missing);
    ProcReact_Future failed;
    struct pollfd p;
    (void)state;
    run_init(&r, &it, 0, "exit 0");
    it = procreact_initialize_future_iterator(NULL, NULL, run_complete, &r);
    for (int i = 0; i < 5; i++) {
        ProcReact_Future f = spawn_sh("echo hi", 0, procreact_create_bytes_type());
        assert_int_equal(procreact_future_iterator_add(&it, &f), 0);
        assert_int_equal(f.fd, -1); /* spent */
    }
    failed = procreact_command_spawn(command, procreact_create_bytes_type());
    procreact_command_free(command);
    assert_int_equal(procreact_future_iterator_add(&it, &failed), 0);
    assert_int_equal(r.completed, 1); /* the failed spawn, at once */
    assert_int_equal(it.running_processes, 5);
    p.fd = procreact_future_iterator_fd(&it);
    p.events = POLLIN;
    while (procreact_future_iterator_step(&it, 0) == 1)
        assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(r.completed, 6);
    assert_int_equal(procreact_future_iterator_add(NULL, &failed), -1);
    assert_int_equal(errno, EINVAL);
    procreact_destroy_future_iterator(&it);
}

/* A program with no captured stream that has exited before the iterator
 * takes it over must still wake the iterator (blocking and descriptor). */
static ProcReact_Future quiet_next(void *data)
{
    Run *r = data;
    const char *argv[] = {"true", NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future f;
    procreact_command_set_stdout(command, PROCREACT_OUTPUT_DISCARD, -1);
    f = procreact_command_spawn(command, procreact_create_bytes_type());
    procreact_command_free(command);
    t_sleep_ms(20); /* it exits before the iterator sees it */
    r->spawned++;
    return f;
}

static void test_exited_before_take_over(void **state)
{
    ProcReact_FutureIterator it;
    Run r;
    struct pollfd p;
    (void)state;
    run_init(&r, &it, 3, "exit 0");
    it = procreact_initialize_future_iterator(run_has_next, quiet_next, run_complete, &r);
    r.it = &it;
    alarm(10);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    assert_int_equal(r.completed, 3);
    procreact_destroy_future_iterator(&it);
    run_init(&r, &it, 3, "exit 0");
    it = procreact_initialize_future_iterator(run_has_next, quiet_next, run_complete, &r);
    p.fd = procreact_future_iterator_fd(&it);
    p.events = POLLIN;
    while (procreact_future_iterator_step(&it, 1) == 1)
        assert_int_equal(poll(&p, 1, 5000), 1);
    alarm(0);
    assert_int_equal(r.completed, 3);
    procreact_destroy_future_iterator(&it);
}

/* ---------------------------------------------------------- pid iterators */

typedef struct {
    int total, spawned, completed, timed_out, cancelled, info_ok;
    int hang; /* children sleep forever */
} PidRun;

static ProcReact_bool pr_has_next(void *data)
{
    PidRun *r = data;
    return r->spawned < r->total;
}

static pid_t pr_next(void *data)
{
    PidRun *r = data;
    pid_t pid = r->hang ? fork() : t_fork_sleeper(20, 7);
    if (pid == 0)
        for (;;)
            pause();
    r->spawned++;
    return pid;
}

static void pr_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    PidRun *r = data;
    ProcReact_ExitInfo info;
    (void)status;
    (void)result;
    r->completed++;
    if (procreact_pid_info(pid, &info) == 0) {
        r->info_ok++;
        if (info.flags & PROCREACT_EXIT_TIMED_OUT)
            r->timed_out++;
        if (info.flags & PROCREACT_EXIT_CANCELLED)
            r->cancelled++;
        if (!r->hang) {
            assert_int_equal(info.exit_code, 7);
            /* Counted from when the library was handed the pid, after the
             * client's fork(): on a slow (sanitized) run the child may have
             * slept part of its 20 ms before that. */
            assert_true(info.wall_time > 0.0 && info.wall_time < 60.0);
        }
    }
}

static void test_pid_iterator_timeout(void **state)
{
    PidRun r = {4, 0, 0, 0, 0, 0, 1};
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(pr_has_next, pr_next, NULL, pr_complete, &r);
    double start = t_now();
    (void)state;
    assert_int_equal(procreact_pid_iterator_set_timeout(&it, 0.1), 0);
    procreact_fork_and_wait_in_parallel_limit(&it, 2);
    procreact_destroy_pid_iterator(&it);
    assert_int_equal(r.completed, 4);
    assert_int_equal(r.timed_out, 4);
    assert_int_equal(r.info_ok, 4);
    assert_true(t_now() - start < 4.0);
    errno = 0;
    assert_int_equal(procreact_pid_info(1, &(ProcReact_ExitInfo){0}), -1); /* outside a callback */
    assert_int_equal(errno, ESRCH);
}

static void test_pid_iterator_fd_step_and_cancel(void **state)
{
    PidRun r = {10, 0, 0, 0, 0, 0, 0};
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(pr_has_next, pr_next, NULL, pr_complete, &r);
    struct pollfd p;
    int active;
    (void)state;
    p.fd = procreact_pid_iterator_fd(&it);
    p.events = POLLIN;
    assert_true(p.fd > 2);
    active = procreact_pid_iterator_step(&it, 3);
    assert_int_equal(active, 1);
    while (active == 1) {
        assert_int_equal(poll(&p, 1, 5000), 1);
        active = procreact_pid_iterator_step(&it, 3);
        assert_true(it.running_processes <= 3);
    }
    assert_int_equal(r.completed, 10);
    assert_int_equal(r.info_ok, 10);

    /* The same iterator again, now with hanging children, cancelled. */
    r.total = 20;
    r.hang = 1;
    active = procreact_pid_iterator_step(&it, 3);
    assert_int_equal(it.running_processes, 3);
    assert_int_equal(procreact_pid_iterator_cancel(&it), 0);
    while (active == 1) {
        assert_int_equal(poll(&p, 1, 5000), 1);
        active = procreact_pid_iterator_step(&it, 3);
    }
    assert_int_equal(r.spawned, 13);
    assert_int_equal(r.completed, 13);
    assert_int_equal(r.cancelled, 3);
    procreact_destroy_pid_iterator(&it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_timeout_stops_a_hung_program),
        T_TEST(test_grace_then_kill),
        T_TEST(test_group_stop_reaches_grandchild),
        T_TEST(test_pipe_held_outside_group_is_abandoned),
        T_TEST(test_output_limit),
        T_TEST(test_output_limit_on_stderr),
        T_TEST(test_output_type_keeps_failed_output),
        T_TEST(test_cancel_waiting_future),
        T_TEST(test_cancel_get_from_another_thread),
        T_TEST(test_forked_future_deadline),
        T_TEST(test_bad_input),
        T_TEST(test_iterator_deadline_never_delays_siblings),
        T_TEST(test_iterator_default_timeout),
        T_TEST(test_iterator_cancel_from_callback),
        T_TEST(test_iterator_cancel_from_another_thread),
        T_TEST(test_cancel_kept_copy_inside_iterator),
        T_TEST(test_iterator_fd_and_step),
        T_TEST(test_iterator_fd_wakes_for_deadline),
        T_TEST(test_iterator_add_without_next),
        T_TEST(test_exited_before_take_over),
        T_TEST(test_pid_iterator_timeout),
        T_TEST(test_pid_iterator_fd_step_and_cancel),
    };
    return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
