/* SPDX-License-Identifier: MIT */
/*
 * Spawning threads per collection: a batch fills its slots from several
 * threads by default from 2 CPUs on (every job completes once with its own
 * output, cancel, nothing left), a future iterator only when asked, the
 * setters' errors, PROCREACT_SPAWN_THREADS as the override of the defaults
 * (this executable runs with it unset, 1 and 3: tests/meson.build), idle
 * launcher threads ending by themselves, and a child forked while they wait.
 */
#include "test.h"

#include <pthread.h>
#include <sched.h>

#include <procreact_batch.h>
#include <procreact_control.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

enum { kJobs = 300 };

/* The CPUs this process may run on, counted as the library counts them. */
static int affinity_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return (int)sysconf(_SC_NPROCESSORS_ONLN);
    return CPU_COUNT(&set);
}

/* The override in this run's environment, or 0 when unset. */
static int env_threads(void)
{
    const char *v = getenv("PROCREACT_SPAWN_THREADS");
    return v != NULL ? atoi(v) : 0;
}

static ProcReact_Batch *make_batch(unsigned limit)
{
    const char *argv[] = {"unused", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    ProcReact_Batch *b;
    assert_non_null(c);
    b = procreact_batch_new(c, limit);
    procreact_command_free(c);
    assert_non_null(b);
    return b;
}

/* Queues @p n jobs `echo k`, k the job's index from @p first. */
static void submit_echoes(ProcReact_Batch *b, int n)
{
    static char numbers[kJobs][16];
    const char *argv[2 * kJobs];
    size_t counts[kJobs];
    int k;
    assert_true(n <= kJobs);
    for (k = 0; k < n; ++k) {
        snprintf(numbers[k], sizeof numbers[k], "%d", k);
        argv[2 * k] = "echo";
        argv[2 * k + 1] = numbers[k];
        counts[k] = 2;
    }
    assert_int_equal(procreact_batch_submit(b, argv, counts, (size_t)n), 0);
}

/* Runs every job; returns how many had their own output, each seen once. */
static int drain_echoes(ProcReact_Batch *b, int n)
{
    static int seen[kJobs];
    ProcReact_BatchResult out[16];
    int right = 0, k;
    memset(seen, 0, sizeof seen);
    while (procreact_batch_remaining(b) > 0) {
        ssize_t got = procreact_batch_wait(b, out, 16, -1), i;
        assert_true(got > 0);
        for (i = 0; i < got; ++i) {
            char want[16];
            const ProcReact_BatchResult *r = &out[i];
            assert_true(r->index < (size_t)n);
            ++seen[r->index];
            snprintf(want, sizeof want, "%zu\n", r->index);
            if (r->status == PROCREACT_STATUS_OK && r->info.exit_code == 0 && r->stdout_length == strlen(want) &&
                memcmp(r->stdout_data, want, strlen(want)) == 0)
                ++right;
        }
    }
    for (k = 0; k < n; ++k)
        assert_int_equal(seen[k], 1);
    return right;
}

/* ------------------------------------------------------------- the setters */

static void test_setters_refuse_bad_input(void **state)
{
    ProcReact_Batch *b = make_batch(2);
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(NULL, NULL, NULL, NULL);
    (void)state;
    errno = 0;
    assert_int_equal(procreact_batch_set_spawn_threads(NULL, 2), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_batch_set_spawn_threads(b, 9), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_batch_set_spawn_threads(b, 0), 0);
    assert_int_equal(procreact_batch_set_spawn_threads(b, 1), 0);
    assert_int_equal(procreact_batch_set_spawn_threads(b, 8), 0);
    errno = 0;
    assert_int_equal(procreact_future_iterator_set_spawn_threads(NULL, 2), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(procreact_future_iterator_set_spawn_threads(&it, 100), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_future_iterator_set_spawn_threads(&it, 3), 0);
    assert_int_equal(procreact_future_iterator_set_spawn_threads(&it, 0), 0);
    procreact_destroy_future_iterator(&it);
    procreact_batch_free(b);
}

/* ------------------------------------------------------ a batch, threaded */

static void run_batch(unsigned threads_setting, int set)
{
    const int n = t_under_valgrind() ? 40 : kJobs;
    const int fds = t_count_fds();
    ProcReact_Batch *b = make_batch(8);
    if (set)
        assert_int_equal(procreact_batch_set_spawn_threads(b, threads_setting), 0);
    submit_echoes(b, n);
    assert_int_equal(drain_echoes(b, n), n);
    procreact_batch_free(b);
    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), fds);
}

static void test_batch_every_job_once_with_four_threads(void **state)
{
    (void)state;
    run_batch(4, 1);
    assert_true(t_launcher_count() >= 1); /* the launcher threads stay a while */
}

static void test_batch_every_job_once_by_default(void **state)
{
    (void)state;
    run_batch(0, 0);
}

static void *cancel_later(void *arg)
{
    t_sleep_ms(300);
    procreact_batch_cancel(arg);
    return NULL;
}

/* Hung jobs on four threads, cancelled from another thread: each job is
 * handed out once, the running ones cancelled, the queued ones never run. */
static void test_batch_cancel_with_threads(void **state)
{
    const char *argv[] = {"sleep", "100"};
    size_t counts[1] = {2};
    ProcReact_Batch *b = make_batch(8);
    ProcReact_BatchResult out[16];
    int seen[100] = {0}, ran = 0, never = 0, k;
    pthread_t canceller;
    double start;
    (void)state;
    assert_int_equal(procreact_batch_set_spawn_threads(b, 4), 0);
    assert_int_equal(procreact_batch_set_stop(b, SIGTERM, 1.0), 0);
    for (k = 0; k < 100; ++k)
        assert_int_equal(procreact_batch_submit(b, argv, counts, 1), k);
    assert_int_equal(pthread_create(&canceller, NULL, cancel_later, b), 0);
    start = t_now();
    while (procreact_batch_remaining(b) > 0) {
        ssize_t got = procreact_batch_wait(b, out, 16, -1), i;
        assert_true(got > 0);
        for (i = 0; i < got; ++i) {
            assert_true(out[i].index < 100);
            ++seen[out[i].index];
            assert_true(out[i].info.flags & PROCREACT_EXIT_CANCELLED);
            if (out[i].status != PROCREACT_STATUS_FORK_FAIL && out[i].info.signal == SIGTERM)
                ++ran;
            else if (out[i].status == PROCREACT_STATUS_FORK_FAIL && out[i].info.exec_errno == ECANCELED)
                ++never;
        }
    }
    pthread_join(canceller, NULL);
    assert_true(t_now() - start < 30.0);
    for (k = 0; k < 100; ++k)
        assert_int_equal(seen[k], 1);
    assert_true(ran >= 1 && ran <= 8);
    assert_int_equal(ran + never, 100);
    procreact_batch_free(b);
    assert_true(t_no_children());
}

/* ------------------------------------------- defaults and the override */

typedef struct {
    int total, next_job;
    pthread_t threads[8];
    int nthreads;
} Jobs;

static ProcReact_bool jobs_has_next(void *data)
{
    Jobs *j = data;
    return j->next_job < j->total;
}

static ProcReact_Future jobs_next(void *data)
{
    Jobs *j = data;
    const char *argv[] = {"true", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    ProcReact_Future f;
    int i;
    ++j->next_job; /* claimed before the spawn */
    for (i = 0; i < j->nthreads && !pthread_equal(j->threads[i], pthread_self()); ++i)
        ;
    if (i == j->nthreads && j->nthreads < 8)
        j->threads[j->nthreads++] = pthread_self();
    f = procreact_command_spawn(c, procreact_create_string_type());
    procreact_command_free(c);
    return f;
}

static void jobs_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    free(future->result);
}

/* Runs 100 jobs (16 under valgrind), 8 at a time; returns how many threads ran `next`. */
static int run_iterator(int set, unsigned threads)
{
    Jobs j;
    ProcReact_FutureIterator it;
    memset(&j, 0, sizeof j);
    j.total = t_under_valgrind() ? 16 : 100;
    it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    if (set && procreact_future_iterator_set_spawn_threads(&it, threads) != 0)
        return -1;
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 8);
    procreact_destroy_future_iterator(&it);
    return j.next_job == j.total ? j.nthreads : -1;
}

/* Runs 40 jobs `true` in a batch, 8 at a time; 0 when all ran. */
static int run_true_batch(int set, unsigned threads)
{
    const char *argv[] = {"true"};
    size_t counts[1] = {1};
    ProcReact_BatchResult out[8];
    ProcReact_Batch *b = make_batch(8);
    int k, n = t_under_valgrind() ? 16 : 40, ok = 0;
    if (set && procreact_batch_set_spawn_threads(b, threads) != 0)
        return -1;
    for (k = 0; k < n; ++k)
        procreact_batch_submit(b, argv, counts, 1);
    while (procreact_batch_remaining(b) > 0) {
        ssize_t got = procreact_batch_wait(b, out, 8, -1), i;
        if (got <= 0)
            break;
        for (i = 0; i < got; ++i)
            ok += out[i].status == PROCREACT_STATUS_OK && out[i].info.exit_code == 0;
    }
    procreact_batch_free(b);
    return ok == n ? 0 : -1;
}

/* In a fresh child (no launcher thread yet): what starts threads and what
 * does not, with this run's PROCREACT_SPAWN_THREADS. */
static int scenario_defaults(void)
{
    const int env = env_threads();
    int ran_next;
    CHECK(1, t_launcher_count() == 0);
    /* An iterator: off unless the override or its setting asks. */
    ran_next = run_iterator(0, 0);
    if (env >= 2)
        CHECK(2, ran_next >= 2 && ran_next <= env); /* a launcher thread may come too late for any */
    else
        CHECK(11, ran_next == 1);
    CHECK(3, t_launcher_count() == (env >= 2 ? env - 1 : 0));
    /* A batch set to 1: never a thread, whatever the environment says. */
    CHECK(4, run_true_batch(1, 1) == 0);
    CHECK(5, t_launcher_count() == (env >= 2 ? env - 1 : 0));
    /* A batch by default: several from 2 CPUs on or when the override asks
     * for them, one on one CPU or when the override says 1. */
    CHECK(6, run_true_batch(0, 0) == 0);
    if (env == 1 || (env == 0 && affinity_cpus() < 2))
        CHECK(7, t_launcher_count() == 0);
    else
        CHECK(8, t_launcher_count() >= 1);
    /* An iterator set to 3: the caller and two launcher threads. */
    CHECK(9, run_iterator(1, 3) >= 2);
    CHECK(10, t_launcher_count() >= 2);
    return 0;
}

static void test_defaults_and_the_override(void **state)
{
    (void)state;
    assert_int_equal(isolated(scenario_defaults, 60), 0);
}

/* On one CPU a default batch spawns from its caller's thread alone (the
 * default is decided on first use: here, in a fresh child pinned to one
 * CPU), while the override still starts threads. */
static int scenario_one_cpu(void)
{
    const int env = env_threads();
    cpu_set_t set;
    CHECK(1, sched_getaffinity(0, sizeof set, &set) == 0);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            break;
        }
    CHECK(2, sched_setaffinity(0, sizeof set, &set) == 0);
    CHECK(3, affinity_cpus() == 1);
    CHECK(4, run_true_batch(0, 0) == 0);
    CHECK(5, t_launcher_count() == (env >= 2 ? env - 1 : 0));
    return 0;
}

static void test_one_cpu_default_is_one_thread(void **state)
{
    (void)state;
    assert_int_equal(isolated(scenario_one_cpu, 60), 0);
}

/* Launcher threads that have nothing to do end after a while (2 s). */
static int scenario_idle_threads_end(void)
{
    double start;
    CHECK(1, run_true_batch(1, 4) == 0);
    CHECK(2, t_launcher_count() == 3);
    start = t_now();
    while (t_launcher_count() > 0 && t_now() - start < 20.0)
        t_sleep_ms(100);
    CHECK(3, t_launcher_count() == 0);
    CHECK(4, t_now() - start >= 1.0);
    /* And they come back when asked again. */
    CHECK(5, run_true_batch(1, 3) == 0);
    CHECK(6, t_launcher_count() == 2);
    return 0;
}

static void test_idle_threads_end(void **state)
{
    (void)state;
    assert_int_equal(isolated(scenario_idle_threads_end, 60), 0);
}

/* A child forked while the parent has launcher threads has none of them
 * (nor their locks): its own batch starts threads of its own. */
static int scenario_after_fork(void)
{
    CHECK(1, t_launcher_count() == 0);
    CHECK(2, run_true_batch(1, 3) == 0);
    CHECK(3, t_launcher_count() == 2);
    return 0;
}

static void test_fork_while_threads_wait(void **state)
{
    (void)state;
    assert_int_equal(run_true_batch(1, 4), 0);
    assert_true(t_launcher_count() >= 1);
    assert_int_equal(isolated(scenario_after_fork, 60), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_setters_refuse_bad_input),
        T_TEST(test_defaults_and_the_override),
        T_TEST(test_one_cpu_default_is_one_thread),
        T_TEST(test_idle_threads_end),
        T_TEST(test_batch_every_job_once_with_four_threads),
        T_TEST(test_fork_while_threads_wait),
        T_TEST(test_batch_every_job_once_by_default),
        T_TEST(test_batch_cancel_with_threads),
    };
    return cmocka_run_group_tests_name("batch_threads", tests, NULL, NULL);
}
