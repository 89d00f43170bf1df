/* SPDX-License-Identifier: MIT */
/*
 * Suite 'forkmt': fork from a multithreaded parent while other threads are
 * inside the library. The child (forked by the application with fork(), or
 * by the library as a future's child) uses the library itself: a nested
 * future, a future iterator and a pid iterator. It must not deadlock on a
 * lock another thread held at the moment of fork (the atfork handlers in
 * src/fd.cpp), and must not see the parent's futures or descriptors.
 *
 * A child that does not finish within CHILD_DEADLINE seconds is counted as
 * deadlocked (killed, and the test fails).
 */
#include "hard.h"

#include <pthread.h>
#include <stdatomic.h>

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_types.h>

#define BUSY_THREADS 3

static double g_child_deadline = 30.0;
static atomic_int g_stop;
static atomic_long g_busy_rounds;
static atomic_long g_busy_wrong;

typedef struct {
    long next, total, ok;
} Count;

static ProcReact_bool c_has_next(void *data)
{
    Count *c = data;
    return c->next < c->total;
}

static ProcReact_Future c_future_next(void *data)
{
    Count *c = data;
    const long i = c->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%ld", i);
        hard_child_exit(hard_write_all(f.fd, buf, (size_t)len) == 0 ? 0 : 1);
    }
    return f;
}

static void c_future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Count *c = data;
    if (status == PROCREACT_STATUS_OK && future->result != NULL)
        c->ok++;
    free(future->result);
}

static pid_t c_pid_next(void *data)
{
    Count *c = data;
    c->next++;
    pid_t pid = fork();
    if (pid == 0)
        hard_child_exit(0);
    return pid;
}

static void c_pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Count *c = data;
    if (pid > 0 && status == PROCREACT_STATUS_OK && result == 0)
        c->ok++;
}

/* Library work that every busy thread repeats, and that each child does once. */
static int library_round(long n, unsigned limit)
{
    Count c = { 0, n, 0 };
    ProcReact_FutureIterator fit = procreact_initialize_future_iterator(c_has_next, c_future_next, c_future_complete, &c);
    procreact_fork_buffer_and_wait_in_parallel_limit(&fit, limit);
    procreact_destroy_future_iterator(&fit);
    if (c.ok != n)
        return 0;
    Count p = { 0, n, 0 };
    ProcReact_PidIterator pit = procreact_initialize_pid_iterator(c_has_next, c_pid_next, NULL, c_pid_complete, &p);
    procreact_fork_and_wait_in_parallel_limit(&pit, limit);
    return p.ok == n;
}

static void *busy(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        if (!library_round(6, 3))
            atomic_fetch_add(&g_busy_wrong, 1);
        atomic_fetch_add(&g_busy_rounds, 1);
    }
    return NULL;
}

/* What a child forked from the busy parent does: nested library use. */
static int nested_work(void)
{
    /* a nested future whose own child makes another future */
    ProcReact_Future outer = procreact_initialize_future(procreact_create_string_type());
    if (outer.pid == 0) {
        ProcReact_Future inner = procreact_initialize_future(procreact_create_string_type());
        if (inner.pid == 0)
            hard_child_exit(hard_write_all(inner.fd, "inner", 5) == 0 ? 0 : 1);
        ProcReact_Status st;
        char *s = procreact_future_get(&inner, &st);
        int ok = st == PROCREACT_STATUS_OK && s != NULL && strcmp(s, "inner") == 0;
        hard_child_exit(ok && hard_write_all(outer.fd, "outer+inner", 11) == 0 ? 0 : 1);
    }
    ProcReact_Status st;
    char *s = procreact_future_get(&outer, &st);
    int ok = st == PROCREACT_STATUS_OK && s != NULL && strcmp(s, "outer+inner") == 0;
    free(s);
    return ok && library_round(5, 2);
}

static void start_busy(pthread_t *threads)
{
    atomic_store(&g_stop, 0);
    for (int t = 0; t < BUSY_THREADS; ++t)
        assert_int_equal(pthread_create(&threads[t], NULL, busy, NULL), 0);
    /* let them get going */
    while (atomic_load(&g_busy_rounds) < BUSY_THREADS)
        hard_sleep_ms(1);
}

static void stop_busy(pthread_t *threads)
{
    atomic_store(&g_stop, 1);
    for (int t = 0; t < BUSY_THREADS; ++t)
        pthread_join(threads[t], NULL);
}

static void plain_fork_while_busy(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    pthread_t threads[BUSY_THREADS];
    start_busy(threads);
    const long n = hard_scaled(200, 20);
    long ok = 0, deadlocked = 0, failed = 0;
    for (long i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid == 0)
            hard_child_exit(nested_work() ? 0 : 1);
        assert_true(pid > 0);
        int status = hard_wait_deadline(pid, g_child_deadline);
        if (status == -1)
            deadlocked++;
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ok++;
        else
            failed++;
    }
    stop_busy(threads);
    print_message("forkmt: fork(): %ld children ok, %ld deadlocked, %ld failed; busy threads ran %ld rounds\n", ok,
                  deadlocked, failed, atomic_load(&g_busy_rounds));
    assert_int_equal(deadlocked, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(atomic_load(&g_busy_wrong), 0);
    HARD_ASSERT_NO_LEAK(before);
}

static void future_child_while_busy(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    pthread_t threads[BUSY_THREADS];
    start_busy(threads);
    const long n = hard_scaled(200, 20);
    long ok = 0, failed = 0;
    for (long i = 0; i < n; ++i) {
        ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
        if (f.pid == 0) {
            /* the library's own child, forked while the others are busy */
            int good = nested_work();
            hard_child_exit(good && hard_write_all(f.fd, "nested ok", 9) == 0 ? 0 : 1);
        }
        assert_true(f.pid > 0);
        /* a deadlocked child would block get() forever: watch it from here */
        int status_ok = 0;
        const double end = hard_now() + g_child_deadline;
        for (;;) {
            siginfo_t info;
            memset(&info, 0, sizeof info);
            if (waitid(P_PID, (id_t)f.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0)
                break;
            if (hard_now() > end) {
                kill(f.pid, SIGKILL);
                break;
            }
            hard_sleep_ms(2);
        }
        ProcReact_Status st;
        char *s = procreact_future_get(&f, &st);
        status_ok = st == PROCREACT_STATUS_OK && s != NULL && strcmp(s, "nested ok") == 0;
        free(s);
        if (status_ok)
            ok++;
        else
            failed++;
    }
    stop_busy(threads);
    print_message("forkmt: future children: %ld ok, %ld failed or deadlocked\n", ok, failed);
    assert_int_equal(failed, 0);
    assert_int_equal(atomic_load(&g_busy_wrong), 0);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    if (getenv("HARDENING_SCALE") != NULL)
        g_child_deadline = 120.0;
    hard_watchdog("the fork-from-threads tests", (unsigned)(getenv("HARDENING_SCALE") ? 1200 : 170));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_fork_while_busy),
        cmocka_unit_test(future_child_while_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
