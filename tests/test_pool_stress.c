/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h from several threads at once: four threads submit,
 * wait, cancel and free tasks while a fifth SIGKILLs workers, then the
 * pool is shut down or freed under them. Every task completes exactly once,
 * with a status its story allows; nothing hangs, nothing is left.
 */
#include "pool_test.h"

#include <pthread.h>

enum { T_THREADS = 4, T_MAX_ITER = 400 };

typedef struct {
    ProcReact_Pool *pool;
    int id;
    int iterations;
    int stop_on_shutdown; /* run until a submit says ESHUTDOWN */
    int *shutting;        /* set once the pool's shutdown began */
    ProcReact_Task *kept[T_MAX_ITER];
    int kept_count;
    int failures; /* assertions are counted here: cmocka's are not thread-safe */
    char why[160];
} Actor;

typedef struct {
    volatile int stop;
    int kills;
} StressKiller;

#define T_CHECK(a, cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond) && (a)->failures++ == 0)                                                                 \
            snprintf((a)->why, sizeof (a)->why, "line %d: %s", __LINE__, #cond);                            \
    } while (0)

static void *t_stress_killer(void *arg)
{
    StressKiller *k = (StressKiller *)arg;
    unsigned seed = 777;
    while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
        pid_t pids[256];
        int n;
        t_sleep_ms(3);
        n = t_children(pids, 256);
        if (n > 0 && kill(pids[rand_r(&seed) % (unsigned)n], SIGKILL) == 0)
            ++k->kills;
    }
    return NULL;
}

/* A completed task's status as its story allows: a killed worker crashes
 * it (SIGKILL); a shutdown may cancel it. */
static void t_check_final(Actor *a, ProcReact_Task *t, ProcReact_TaskStatus expected, int cancel_ok)
{
    const ProcReact_TaskStatus st = procreact_task_status(t);
    const int shut = __atomic_load_n(a->shutting, __ATOMIC_ACQUIRE);
    if (st == expected || (st == PROCREACT_TASK_CANCELLED && (cancel_ok || shut)))
        return;
    if (st == PROCREACT_TASK_CRASHED) {
        ProcReact_ExitInfo info;
        T_CHECK(a, procreact_task_exit_info(t, &info) == 0 && info.signal == SIGKILL);
        return;
    }
    T_CHECK(a, st == expected);
}

static void *t_actor(void *arg)
{
    Actor *a = (Actor *)arg;
    unsigned seed = (unsigned)a->id * 7919u + 1u;
    char req[48], want[48];
    int i;
    for (i = 0; a->stop_on_shutdown || i < a->iterations; ++i) {
        const int op = (int)(rand_r(&seed) % 5u);
        const int unique = a->id * 100000 + i;
        ProcReact_Task *t;
        double deadline = 0;
        if (op == 0 || op == 2)
            snprintf(req, sizeof req, "echo:%d", unique);
        else if (op == 4) {
            snprintf(req, sizeof req, "sleep:2000");
            deadline = 0.02;
        } else
            snprintf(req, sizeof req, "sleep:%d", op == 1 ? 20 : 5);
        t = procreact_pool_submit(a->pool, req, strlen(req), deadline);
        if (t == NULL) {
            T_CHECK(a, errno == ESHUTDOWN && __atomic_load_n(a->shutting, __ATOMIC_ACQUIRE));
            break;
        }
        switch (op) {
        case 0: /* wait for the reply */
            T_CHECK(a, procreact_task_wait(t, 30000) == 0);
            snprintf(want, sizeof want, "%d", unique);
            t_check_final(a, t, PROCREACT_TASK_DONE, 0);
            if (procreact_task_status(t) == PROCREACT_TASK_DONE)
                T_CHECK(a, t_reply_is(t, want));
            break;
        case 1: { /* cancel, queued or running */
            const int rc = procreact_task_cancel(t);
            T_CHECK(a, rc == 0 || errno == EALREADY);
            T_CHECK(a, procreact_task_wait(t, 30000) == 0);
            t_check_final(a, t, rc == 0 ? PROCREACT_TASK_CANCELLED : PROCREACT_TASK_DONE, rc != 0);
            break;
        }
        case 2: /* freed at once, probably queued */
            procreact_task_free(t);
            t = NULL;
            break;
        case 3: /* freed while it runs, probably */
            procreact_task_wait(t, 1);
            procreact_task_free(t);
            t = NULL;
            break;
        default: /* past its deadline */
            T_CHECK(a, procreact_task_wait(t, 30000) == 0);
            t_check_final(a, t, PROCREACT_TASK_TIMED_OUT, 0);
            break;
        }
        if (t != NULL) {
            if (a->kept_count < T_MAX_ITER)
                a->kept[a->kept_count++] = t;
            else
                procreact_task_free(t);
        }
    }
    return NULL;
}

/* Hands out every completed task that was not freed exactly once. */
static void t_check_done_once(ProcReact_Pool *pool, Actor *actors)
{
    int seen[T_THREADS][T_MAX_ITER];
    int total = 0, handed = 0, i, j;
    ProcReact_Task *t;
    memset(seen, 0, sizeof seen);
    for (i = 0; i < T_THREADS; ++i)
        total += actors[i].kept_count;
    while ((t = procreact_pool_next_done(pool)) != NULL) {
        int found = 0;
        for (i = 0; i < T_THREADS && !found; ++i)
            for (j = 0; j < actors[i].kept_count && !found; ++j)
                if (actors[i].kept[j] == t) {
                    assert_int_equal(seen[i][j], 0);
                    seen[i][j] = 1;
                    found = 1;
                }
        assert_true(found); /* a freed task is never handed out */
        ++handed;
    }
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(handed, total);
}

static ProcReact_Pool *t_stress_pool(void)
{
    ProcReact_PoolConfig *config = t_pool_config(3);
    assert_int_equal(procreact_pool_config_set_crash_limit(config, 1000000, 0.001), 0);
    assert_int_equal(procreact_pool_config_set_stop(config, SIGTERM, 0.05), 0);
    return t_pool_make(config);
}

static void t_start(ProcReact_Pool *pool, Actor *actors, pthread_t *threads, int iterations, int until_shutdown,
                    int *shutting)
{
    int i;
    for (i = 0; i < T_THREADS; ++i) {
        memset(&actors[i], 0, sizeof actors[i]);
        actors[i].pool = pool;
        actors[i].id = i + 1;
        actors[i].iterations = iterations;
        actors[i].stop_on_shutdown = until_shutdown;
        actors[i].shutting = shutting;
        assert_int_equal(pthread_create(&threads[i], NULL, t_actor, &actors[i]), 0);
    }
}

static void t_join_and_check(Actor *actors, pthread_t *threads)
{
    int i;
    for (i = 0; i < T_THREADS; ++i) {
        pthread_join(threads[i], NULL);
        if (actors[i].failures != 0)
            print_error("thread %d: %d failures, first at %s\n", i, actors[i].failures, actors[i].why);
        assert_int_equal(actors[i].failures, 0);
    }
}

static void t_free_kept(Actor *actors)
{
    int i, j;
    for (i = 0; i < T_THREADS; ++i)
        for (j = 0; j < actors[i].kept_count; ++j)
            procreact_task_free(actors[i].kept[j]);
}

/* One run: the pool, four actors and the killer. */
typedef struct {
    ProcReact_Pool *pool;
    Actor actors[T_THREADS];
    pthread_t threads[T_THREADS], killer_thread;
    StressKiller killer;
    int shutting;
    int fds_before;
} Stress;

static void t_stress_begin(Stress *s, int iterations, int until_shutdown)
{
    memset(s, 0, sizeof *s);
    s->fds_before = t_count_fds();
    s->pool = t_stress_pool();
    assert_int_equal(pthread_create(&s->killer_thread, NULL, t_stress_killer, &s->killer), 0);
    t_start(s->pool, s->actors, s->threads, iterations, until_shutdown, &s->shutting);
}

/* Joins the actors, stops the killer, checks that every kept task comes out
 * of procreact_pool_next_done() once (and, with @p working, that the pool
 * did not fail), frees all, and that nothing is left. */
static void t_stress_end(Stress *s, int working)
{
    t_join_and_check(s->actors, s->threads);
    __atomic_store_n(&s->killer.stop, 1, __ATOMIC_RELEASE);
    pthread_join(s->killer_thread, NULL);
    if (working)
        assert_int_equal(procreact_pool_error(s->pool, NULL), 0);
    t_check_done_once(s->pool, s->actors);
    procreact_pool_free(s->pool);
    t_free_kept(s->actors);
    assert_int_equal(t_count_fds(), s->fds_before);
    assert_true(t_no_children());
    print_message("# stress: %d kills\n", s->killer.kills);
}

/* Four threads at work while a fifth kills workers; then every completed
 * task comes out of procreact_pool_next_done() once. */
static void test_threads_with_kills(void **state)
{
    Stress s;
    (void)state;
    t_stress_begin(&s, t_under_valgrind() ? 25 : 150, 0);
    t_stress_end(&s, 1);
}

/* The pool is shut down while the threads submit, wait, cancel and free
 * (and workers are killed): submits then fail with ESHUTDOWN, every task
 * completes once; then the pool is freed. */
static void test_shutdown_under_threads(void **state)
{
    Stress s;
    (void)state;
    t_stress_begin(&s, 0, 1);
    t_sleep_ms(t_under_valgrind() ? 1500 : 300);
    __atomic_store_n(&s.shutting, 1, __ATOMIC_RELEASE);
    procreact_pool_shutdown(s.pool, 0, 0.1);
    t_stress_end(&s, 0);
}

/* The pool is freed while threads are blocked waiting on its tasks (which
 * outlive it): each wait returns with the task cancelled. */
static void test_free_under_waiters(void **state)
{
    enum { N = 6 };
    ProcReact_Pool *pool = t_stress_pool();
    TWaiter blocked[N];
    pthread_t threads[N];
    double start;
    int i;
    (void)state;
    for (i = 0; i < N; ++i) {
        blocked[i].task = t_submit(pool, "hang", 0);
        blocked[i].timeout_ms = 30000;
        blocked[i].rc = -2;
        assert_int_equal(pthread_create(&threads[i], NULL, t_waiter_run, &blocked[i]), 0);
    }
    t_sleep_ms(100);
    start = t_now();
    procreact_pool_free(pool);
    for (i = 0; i < N; ++i) {
        pthread_join(threads[i], NULL);
        assert_int_equal(blocked[i].rc, 0);
        assert_int_equal(blocked[i].status, PROCREACT_TASK_CANCELLED);
        procreact_task_free(blocked[i].task);
    }
    assert_true(t_now() - start < 5.0);
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_threads_with_kills),
        T_TEST(test_shutdown_under_threads),
        T_TEST(test_free_under_waiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
