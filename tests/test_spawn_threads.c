/* SPDX-License-Identifier: MIT */
/*
 * A future iterator filled from several threads (PROCREACT_SPAWN_THREADS,
 * set to 4 for this suite in tests/meson.build): every job runs and
 * completes once with its own output, the callbacks' code never runs on two
 * threads at once (one thread's `next` waits inside its spawn while another
 * runs), the launcher threads really spawn, nothing is left
 * (children, descriptors), and a cancel from another thread stops it all,
 * through the blocking and the non-blocking drivers.
 */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

enum { kMaxJobs = 400, kMaxThreads = 16 };

typedef struct {
    int total, next_job;
    const char *program; /* "echo" (job k prints k) or "sleep" */
    atomic_int inside;   /* callbacks running now */
    int overlaps;        /* times a callback found another one running */
    int completed[kMaxJobs];
    int right;
    pid_t pids[kMaxJobs];
    pthread_t threads[kMaxThreads];
    int nthreads;
    int cancelled;
} Jobs;

static void enter(Jobs *j)
{
    if (atomic_fetch_add(&j->inside, 1) != 0)
        ++j->overlaps;
}

static void leave(Jobs *j) { atomic_fetch_sub(&j->inside, 1); }

static void note_thread(Jobs *j)
{
    pthread_t self = pthread_self();
    int i;
    for (i = 0; i < j->nthreads; ++i)
        if (pthread_equal(j->threads[i], self))
            return;
    if (j->nthreads < kMaxThreads)
        j->threads[j->nthreads++] = self;
}

static ProcReact_bool jobs_has_next(void *data)
{
    Jobs *j = data;
    ProcReact_bool more;
    enter(j);
    more = j->next_job < j->total;
    leave(j);
    return more;
}

static ProcReact_Future jobs_next(void *data)
{
    Jobs *j = data;
    char number[16];
    const char *echo[] = {"echo", number, NULL};
    const char *sleep_argv[] = {"sleep", "100", NULL};
    ProcReact_Command *c;
    ProcReact_Future f;
    int k;
    enter(j);
    note_thread(j);
    k = j->next_job++;
    snprintf(number, sizeof number, "%d", k);
    c = procreact_command_new(strcmp(j->program, "echo") == 0 ? echo : sleep_argv);
    /* Another thread's `has_next` or `next` may run while this one waits
     * for its child in the spawn, never while this code runs. */
    leave(j);
    f = procreact_command_spawn(c, procreact_create_string_type());
    enter(j);
    procreact_command_free(c);
    if (k < kMaxJobs)
        j->pids[k] = f.pid;
    leave(j);
    return f;
}

static void jobs_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Jobs *j = data;
    char *out = future->result;
    int k;
    enter(j);
    for (k = 0; k < j->total; ++k)
        if (j->pids[k] == future->pid)
            break;
    if (k < j->total) {
        char want[16];
        ProcReact_ExitInfo info;
        ++j->completed[k];
        snprintf(want, sizeof want, "%d\n", k);
        if (status == PROCREACT_STATUS_OK && out != NULL && strcmp(out, want) == 0)
            ++j->right;
        else if (procreact_future_info(future, &info) == 0 && (info.flags & PROCREACT_EXIT_CANCELLED))
            ++j->cancelled;
    }
    free(out);
    leave(j);
}

static void jobs_init(Jobs *j, int total, const char *program)
{
    memset(j, 0, sizeof *j);
    atomic_init(&j->inside, 0);
    j->total = total;
    j->program = program;
}

static void check_each_once(const Jobs *j, int ran)
{
    int k;
    for (k = 0; k < ran; ++k)
        assert_int_equal(j->completed[k], 1);
    assert_int_equal(j->overlaps, 0);
}

static void test_every_job_once_from_several_threads(void **state)
{
    static Jobs j;
    ProcReact_FutureIterator it;
    const int total = t_under_valgrind() ? 40 : 400;
    const int fds = t_count_fds();
    (void)state;
    jobs_init(&j, total, "echo");
    it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 8);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(j.next_job, total);
    check_each_once(&j, total);
    assert_int_equal(j.right, total);
    /* The library's launcher threads ran `next` too, not only this one. */
    assert_true(j.nthreads >= 2);
    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), fds);
}

/* No limit: the whole batch is filled at once from every thread. */
static void test_no_limit_from_several_threads(void **state)
{
    static Jobs j;
    ProcReact_FutureIterator it;
    const int total = t_under_valgrind() ? 20 : 100;
    (void)state;
    jobs_init(&j, total, "echo");
    it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    procreact_destroy_future_iterator(&it);
    check_each_once(&j, total);
    assert_int_equal(j.right, total);
    assert_true(t_no_children());
}

/* The non-blocking driver (a main loop's): step until nothing runs. */
static void test_steps_from_several_threads(void **state)
{
    static Jobs j;
    ProcReact_FutureIterator it;
    const int total = t_under_valgrind() ? 40 : 300;
    (void)state;
    jobs_init(&j, total, "echo");
    it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    while (procreact_future_iterator_step(&it, 8) > 0) {
        struct pollfd p = {procreact_future_iterator_fd(&it), POLLIN, 0};
        poll(&p, 1, 1000);
    }
    procreact_destroy_future_iterator(&it);
    check_each_once(&j, total);
    assert_int_equal(j.right, total);
    assert_true(t_no_children());
}

static void *cancel_later(void *arg)
{
    t_sleep_ms(300);
    procreact_future_iterator_cancel(arg);
    return NULL;
}

/* Hung children, cancelled from another thread: every one that was spawned
 * completes once as cancelled, and nothing more is spawned. */
static void test_cancel_from_another_thread(void **state)
{
    static Jobs j;
    ProcReact_FutureIterator it;
    pthread_t canceller;
    double start;
    (void)state;
    jobs_init(&j, 100, "sleep");
    it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    procreact_future_iterator_set_stop(&it, SIGTERM, 1.0);
    assert_int_equal(pthread_create(&canceller, NULL, cancel_later, &it), 0);
    start = t_now();
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 8);
    pthread_join(canceller, NULL);
    assert_true(t_now() - start < 30.0);
    procreact_destroy_future_iterator(&it);
    assert_true(j.next_job >= 1 && j.next_job <= 8);
    check_each_once(&j, j.next_job);
    assert_int_equal(j.cancelled, j.next_job);
    assert_true(t_no_children());
}

/* Forked futures made in `next` (the 0.1 way) on a launcher thread: each
 * child has the signal mask of the thread that drives the iterator, as it
 * would had that thread forked it (here SIGUSR1 blocked, SIGTERM not). */
typedef struct {
    int total, next_job, completed, right;
} Forks;

static ProcReact_bool forks_has_next(void *data)
{
    Forks *f = data;
    return f->next_job < f->total;
}

static ProcReact_Future forks_next(void *data)
{
    Forks *f = data;
    ProcReact_Future future;
    ++f->next_job;
    future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == 0) {
        sigset_t mask;
        char line[32];
        sigprocmask(SIG_BLOCK, NULL, &mask);
        snprintf(line, sizeof line, "usr1=%d term=%d", sigismember(&mask, SIGUSR1), sigismember(&mask, SIGTERM));
        t_write_str(future.fd, line);
        execl("/bin/true", "true", (char *)NULL); /* no leak check in the copy */
        _exit(1);
    }
    return future;
}

static void forks_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Forks *f = data;
    ++f->completed;
    if (status == PROCREACT_STATUS_OK && future->result != NULL &&
        strcmp((char *)future->result, "usr1=1 term=0") == 0)
        ++f->right;
    free(future->result);
}

static void test_forked_children_keep_the_callers_mask(void **state)
{
    Forks f = {t_under_valgrind() ? 20 : 200, 0, 0, 0};
    ProcReact_FutureIterator it;
    sigset_t usr1, old;
    (void)state;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
    it = procreact_initialize_future_iterator(forks_has_next, forks_next, forks_complete, &f);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 8);
    procreact_destroy_future_iterator(&it);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(f.completed, f.total);
    assert_int_equal(f.right, f.total);
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_job_once_from_several_threads),
        cmocka_unit_test(test_no_limit_from_several_threads),
        cmocka_unit_test(test_steps_from_several_threads),
        cmocka_unit_test(test_cancel_from_another_thread),
        cmocka_unit_test(test_forked_children_keep_the_callers_mask),
    };
    return cmocka_run_group_tests_name("spawn_threads", tests, NULL, NULL);
}
