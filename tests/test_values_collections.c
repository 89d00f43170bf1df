/* SPDX-License-Identifier: MIT */
/*
 * Value semantics (issue "Value semantics"): collections as 0.1 clients
 * hold them. Work added while a limited run goes on (item 5), a pid
 * iterator handed back by value after its spawns and pid iterators
 * abandoned without a destroy (6), and 0.1's descriptor budget of 900
 * futures and 900 pids at once (8). Each scenario runs isolated, as
 * values_test.h explains.
 */
#include "values_test.h"

#include <sys/resource.h>

#include <procreact_future_iterator.h>
#include <procreact_pid.h>
#include <procreact_pid_iterator.h>

/* ----------------------------- 5. work added during a limited run */

typedef struct {
    int next, queued, done;
} Queue;

static ProcReact_bool queue_has_next(void *data) { return ((Queue *)data)->next < ((Queue *)data)->queued; }

static ProcReact_Future queue_future_next(void *data)
{
    ((Queue *)data)->next++;
    return writer("item", 0);
}

static void queue_future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Queue *q = (Queue *)data;
    (void)status;
    free(future->result);
    if (++q->done, q->queued < 6)
        q->queued++; /* the completion brings more work */
}

static pid_t queue_pid_next(void *data)
{
    ((Queue *)data)->next++;
    return t_fork_true();
}

static void queue_pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Queue *q = (Queue *)data;
    (void)pid;
    (void)status;
    (void)result;
    if (++q->done, q->queued < 6)
        q->queued++;
}

static int work_added(void)
{
    unsigned int limit;
    for (limit = 0; limit <= 2; limit += 2) {
        Queue q = {0, 1, 0};
        ProcReact_FutureIterator fit =
            procreact_initialize_future_iterator(queue_has_next, queue_future_next, queue_future_complete, &q);
        ProcReact_PidIterator pit;
        if (limit == 0)
            procreact_fork_in_parallel_buffer_and_wait(&fit);
        else
            procreact_fork_buffer_and_wait_in_parallel_limit(&fit, limit);
        procreact_destroy_future_iterator(&fit);
        CHECK(1 + (int)limit, q.done == 6);
        q.next = 0;
        q.queued = 1;
        q.done = 0;
        pit = procreact_initialize_pid_iterator(queue_has_next, queue_pid_next, procreact_retrieve_boolean,
                                                queue_pid_complete, &q);
        if (limit == 0)
            procreact_fork_in_parallel_and_wait(&pit);
        else
            procreact_fork_and_wait_in_parallel_limit(&pit, limit);
        CHECK(2 + (int)limit, q.done == 6);
    }
    CHECK(10, no_children_left());
    return 0;
}

static void test_work_added_during_run(void **state)
{
    (void)state;
    assert_int_equal(isolated(work_added, 10), 0);
}

/* ------------------------------- 6. a pid iterator held by value */

typedef struct {
    int next, completed, right;
    pid_t pids[4];
} PidWork;

static ProcReact_bool pid_has_next(void *data) { return ((PidWork *)data)->next < 3; }

static pid_t pid_next(void *data)
{
    PidWork *w = (PidWork *)data;
    const int index = w->next++;
    pid_t pid = t_fork_sleeper(50, 10 + index);
    w->pids[index] = pid;
    return pid;
}

static void pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    PidWork *w = (PidWork *)data;
    int i;
    ++w->completed;
    for (i = 0; i < 3; ++i)
        if (w->pids[i] == pid && status == PROCREACT_STATUS_OK && result == 10 + i)
            ++w->right;
}

/* Spawns, then hands the iterator back by value, as a helper would. */
static ProcReact_PidIterator start_three(PidWork *w)
{
    ProcReact_PidIterator it =
        procreact_initialize_pid_iterator(pid_has_next, pid_next, procreact_retrieve_exit_status, pid_complete, w);
    while (procreact_spawn_next_pid(&it))
        ;
    return it;
}

static int pid_iterator_copied(void)
{
    PidWork w;
    ProcReact_PidIterator *heap;
    memset(&w, 0, sizeof w);
    heap = (ProcReact_PidIterator *)malloc(sizeof *heap);
    CHECK(1, heap != NULL);
    *heap = start_three(&w); /* moved into a heap struct */
    CHECK(2, heap->running_processes == 3);
    while (procreact_wait_for_process_to_complete(heap))
        ;
    free(heap);
    CHECK(3, w.completed == 3);
    CHECK(4, w.right == 3);
    CHECK(5, no_children_left());
    return 0;
}

static ProcReact_bool four_has_next(void *data) { return ((PidWork *)data)->next < 4; }

static pid_t quick_next(void *data)
{
    PidWork *w = (PidWork *)data;
    pid_t pid = t_fork_true();
    w->pids[w->next++] = pid;
    return pid;
}

static int abandoned_pid_iterators(void)
{
    static PidWork works[50];
    static ProcReact_PidIterator abandoned[50]; /* 50 distinct iterators at distinct addresses */
    PidWork fresh_work;
    ProcReact_PidIterator fresh;
    int before, i, j;
    memset(works, 0, sizeof works);
    memset(&fresh_work, 0, sizeof fresh_work);
    before = t_count_fds();
    for (i = 0; i < 50; ++i) {
        /* Each with its own data, never waited for, never destroyed (0.1 has no destroy). */
        abandoned[i] = procreact_initialize_pid_iterator(four_has_next, quick_next, NULL, pid_complete, &works[i]);
        while (procreact_spawn_next_pid(&abandoned[i]))
            ;
    }
    t_sleep_ms(250); /* every child has exited by now */
    /* Any later use of the library lets their descriptors go. */
    fresh = procreact_initialize_pid_iterator(four_has_next, quick_next, NULL, pid_complete, &fresh_work);
    procreact_fork_in_parallel_and_wait(&fresh);
    CHECK(1, fresh_work.completed == 4);
    CHECK(2, t_count_fds() <= before + 5);
    /* Their zombies stay theirs: the test reaps them. */
    for (i = 0; i < 50; ++i)
        for (j = 0; j < 4; ++j)
            waitpid(works[i].pids[j], NULL, 0);
    CHECK(3, no_children_left());
    return 0;
}

static void test_pid_iterator_copied_after_spawn(void **state)
{
    (void)state;
    assert_int_equal(isolated(pid_iterator_copied, 10), 0);
}

static void test_abandoned_pid_iterators_release_descriptors(void **state)
{
    (void)state;
    assert_int_equal(isolated(abandoned_pid_iterators, 20), 0);
}

/* -------------------------------------- 8. the descriptor budget */

static int g_budget_total;

static ProcReact_bool budget_has_next(void *data) { return ((Work *)data)->next < g_budget_total; }

static ProcReact_Future budget_future_next(void *data)
{
    ((Work *)data)->next++;
    return writer("x", 300);
}

static void budget_future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    if (status == PROCREACT_STATUS_OK && future->result != NULL && strcmp((char *)future->result, "x") == 0)
        ((Work *)data)->right++;
    free(future->result);
}

static pid_t budget_pid_next(void *data)
{
    ((Work *)data)->next++;
    return t_fork_sleeper(300, 0);
}

static void budget_pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    (void)pid;
    if (status == PROCREACT_STATUS_OK && result)
        ((Work *)data)->right++;
}

/* Under RLIMIT_NOFILE 1024, 0.1 runs 900 futures (one pipe each) and 900
 * pids (no descriptor) at once: so must we. */
static int descriptor_budget(void)
{
    struct rlimit limit;
    Work w = {0, 0, 0};
    ProcReact_FutureIterator fit;
    ProcReact_PidIterator pit;
    CHECK(1, getrlimit(RLIMIT_NOFILE, &limit) == 0);
    limit.rlim_cur = t_under_valgrind() ? 340 : 1024;
    g_budget_total = t_under_valgrind() ? 300 : 900;
    CHECK(2, setrlimit(RLIMIT_NOFILE, &limit) == 0);
    fit = procreact_initialize_future_iterator(budget_has_next, budget_future_next, budget_future_complete, &w);
    procreact_fork_in_parallel_buffer_and_wait(&fit);
    procreact_destroy_future_iterator(&fit);
    CHECK(3, w.right == g_budget_total);
    w.next = w.right = 0;
    pit = procreact_initialize_pid_iterator(budget_has_next, budget_pid_next, procreact_retrieve_boolean,
                                            budget_pid_complete, &w);
    procreact_fork_in_parallel_and_wait(&pit);
    CHECK(4, w.right == g_budget_total);
    CHECK(5, no_children_left());
    return 0;
}

static void test_descriptor_budget(void **state)
{
    (void)state;
    assert_int_equal(isolated(descriptor_budget, 60), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_added_during_run),
        cmocka_unit_test(test_pid_iterator_copied_after_spawn),
        cmocka_unit_test(test_abandoned_pid_iterators_release_descriptors),
        cmocka_unit_test(test_descriptor_budget),
    };
    return cmocka_run_group_tests_name("values_collections", tests, NULL, NULL);
}
