/* SPDX-License-Identifier: MIT */
/*
 * Identity: where the ways of recognising objects used to collide (issue
 * "One collection engine"). Here twin pid iterators, equal in value
 * (defect 1): a run after a hand spawn, a run nested in a twin's
 * completion, and two threads that run twins at once. A pid returned twice
 * and a reused pid: test_identity_pids.c; the descriptors a forked child
 * holds: test_identity_descriptors.c.
 *
 * Each scenario runs in a forked sub-process with an alarm (t_isolated() in
 * test.h): it returns 0 when every check holds, or the number of the first
 * check that failed.
 */
#include "identity_test.h"

#include <pthread.h>

#include <procreact_pid_iterator.h>

/* ------------------------------------------- 1. twin pid iterators */

/* The client keeps its state in globals: every iterator of this kind has
 * the same value (same callbacks, data NULL). */
#define MAX_KIDS 16
typedef struct {
    int to_spawn;
    int spawned;
    pid_t pids[MAX_KIDS];
    int completed;
    int ok;
} Books;

static Books g_outer, g_inner;
static Books *g_spawning; /* whose `next` is asked now */
static void (*g_after_first)(void);

static ProcReact_bool twin_has_next(void *data)
{
    (void)data;
    return g_spawning->spawned < g_spawning->to_spawn;
}

static pid_t twin_next(void *data)
{
    Books *b = g_spawning;
    pid_t pid;
    (void)data;
    pid = sleeper(b == &g_outer ? 300 : 50, 7);
    b->pids[b->spawned++] = pid;
    return pid;
}

/* Files a completion under the books that spawned the pid. */
static void twin_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Books *books[2] = {&g_outer, &g_inner};
    int b, i;
    (void)data;
    for (b = 0; b < 2; ++b)
        for (i = 0; i < books[b]->spawned; ++i)
            if (books[b]->pids[i] == pid) {
                books[b]->completed++;
                if (status == PROCREACT_STATUS_OK && result == 7)
                    books[b]->ok++;
            }
    if (g_after_first != NULL) {
        void (*once)(void) = g_after_first;
        g_after_first = NULL;
        once();
    }
}

static ProcReact_PidIterator twin(void)
{
    return procreact_initialize_pid_iterator(twin_has_next, twin_next, NULL, twin_complete, NULL);
}

static void inner_run(void)
{
    ProcReact_PidIterator b = twin();
    Books *saved = g_spawning;
    g_spawning = &g_inner;
    procreact_fork_in_parallel_and_wait(&b);
    g_spawning = saved;
}

/* A spawns one child by hand; a twin B runs to completion; then A's run
 * must still complete A's child, through A. */
static int twin_after_hand_spawn(void)
{
    ProcReact_PidIterator a = twin();
    memset(&g_outer, 0, sizeof g_outer);
    memset(&g_inner, 0, sizeof g_inner);
    g_outer.to_spawn = 1;
    g_inner.to_spawn = 3;
    g_spawning = &g_outer;
    CHECK(1, procreact_spawn_next_pid(&a));
    CHECK(2, a.running_processes == 1);
    inner_run();
    CHECK(3, g_inner.completed == 3 && g_inner.ok == 3);
    CHECK(4, g_outer.completed == 0); /* B took none of A's */
    g_spawning = &g_outer;
    procreact_fork_in_parallel_and_wait(&a);
    CHECK(5, g_outer.completed == 1 && g_outer.ok == 1);
    CHECK(6, a.running_processes == 0);
    CHECK(7, t_no_children());
    return 0;
}

/* A nested run: B runs, with A's value, inside A's first completion while
 * A's other children still run. */
static int twin_nested_run(void)
{
    ProcReact_PidIterator a = twin();
    memset(&g_outer, 0, sizeof g_outer);
    memset(&g_inner, 0, sizeof g_inner);
    g_outer.to_spawn = 4;
    g_inner.to_spawn = 3;
    g_spawning = &g_outer;
    g_after_first = inner_run;
    procreact_fork_in_parallel_and_wait(&a);
    CHECK(1, g_inner.completed == 3 && g_inner.ok == 3);
    CHECK(2, g_outer.completed == 4 && g_outer.ok == 4);
    CHECK(3, a.running_processes == 0);
    CHECK(4, t_no_children());
    return 0;
}

/* Two threads run twins at once: each completes exactly its own. */
static __thread Books t_books;
static __thread int t_foreign;

static ProcReact_bool thread_has_next(void *data)
{
    (void)data;
    return t_books.spawned < t_books.to_spawn;
}

static pid_t thread_next(void *data)
{
    pid_t pid = sleeper(20 + 10 * (t_books.spawned % 3), 7);
    (void)data;
    t_books.pids[t_books.spawned++] = pid;
    return pid;
}

static void thread_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    int i, mine = 0;
    (void)data;
    for (i = 0; i < t_books.spawned; ++i)
        mine |= t_books.pids[i] == pid;
    if (!mine)
        t_foreign++;
    else if (status == PROCREACT_STATUS_OK && result == 7)
        t_books.ok++;
}

static void *thread_run(void *arg)
{
    int round;
    (void)arg;
    for (round = 0; round < 5; ++round) {
        ProcReact_PidIterator it =
            procreact_initialize_pid_iterator(thread_has_next, thread_next, NULL, thread_complete, NULL);
        memset(&t_books, 0, sizeof t_books);
        t_books.to_spawn = 6;
        procreact_fork_and_wait_in_parallel_limit(&it, 3);
        if (t_books.ok != 6 || t_foreign != 0)
            return (void *)1;
    }
    return NULL;
}

static int twin_threads(void)
{
    pthread_t threads[2];
    void *verdict[2];
    int i;
    for (i = 0; i < 2; ++i)
        CHECK(1, pthread_create(&threads[i], NULL, thread_run, NULL) == 0);
    for (i = 0; i < 2; ++i)
        CHECK(2, pthread_join(threads[i], &verdict[i]) == 0);
    CHECK(3, verdict[0] == NULL && verdict[1] == NULL);
    CHECK(4, t_no_children());
    return 0;
}

static void test_twin_after_hand_spawn(void **state)
{
    (void)state;
    assert_int_equal(isolated(twin_after_hand_spawn, 20), 0);
}

static void test_twin_nested_run(void **state)
{
    (void)state;
    assert_int_equal(isolated(twin_nested_run, 20), 0);
}

static void test_twin_threads(void **state)
{
    (void)state;
    assert_int_equal(isolated(twin_threads, 30), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twin_after_hand_spawn),
        cmocka_unit_test(test_twin_nested_run),
        cmocka_unit_test(test_twin_threads),
    };
    return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
