/* SPDX-License-Identifier: MIT */
/*
 * procreact_control.h for future iterators: a deadline that never delays
 * the siblings, a default timeout, cancellation from the complete callback,
 * from another thread and through a copy the client kept, the pollable
 * descriptor with its non-blocking step (woken by a deadline too), futures
 * added without next(), and a program that exited before the iterator took
 * it over.
 */
#include "control_test.h"

#include <poll.h>
#include <pthread.h>

#include <procreact_exit.h>
#include <procreact_future_iterator.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_iterator_deadline_never_delays_siblings),
        T_TEST(test_iterator_default_timeout),
        T_TEST(test_iterator_cancel_from_callback),
        T_TEST(test_iterator_cancel_from_another_thread),
        T_TEST(test_cancel_kept_copy_inside_iterator),
        T_TEST(test_iterator_fd_and_step),
        T_TEST(test_iterator_fd_wakes_for_deadline),
        T_TEST(test_iterator_add_without_next),
        T_TEST(test_exited_before_take_over),
    };
    return cmocka_run_group_tests_name("control_future_iterator", tests, NULL, NULL);
}
