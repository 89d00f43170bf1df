/* SPDX-License-Identifier: MIT */
/*
 * procreact_pool.h's cancels and shutdowns crossing other threads: a cancel
 * that crosses its task's reply, and a thread waiting (stepping) for a
 * queued task that another thread cancels or shuts down.
 */
#include "pool_test.h"

#include <pthread.h>

/* A cancel that returned 0 makes the task CANCELLED even when its worker's
 * reply was already on the way (here: in the socket, not yet read). */
static void test_cancel_racing_a_reply(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *t = t_submit(pool, "echo:raced", 0);
    double give_up = t_now() + 10.0;
    (void)state;
    while (procreact_task_status(t) == PROCREACT_TASK_QUEUED && t_now() < give_up) {
        assert_true(procreact_pool_step(pool, 0) >= 0); /* the worker says it is ready, then takes it */
        t_sleep_ms(1);
    }
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_RUNNING);
    t_sleep_ms(100); /* the reply is written; nobody steps to read it */
    assert_int_equal(procreact_task_cancel(t), 0);
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    assert_int_equal(procreact_task_status(t), PROCREACT_TASK_CANCELLED);
    procreact_task_free(t);
    t = t_submit(pool, "echo:next", 0); /* the pool goes on */
    assert_int_equal(procreact_task_wait(t, 10000), 0);
    assert_true(t_reply_is(t, "next"));
    procreact_task_free(t);
    procreact_pool_free(pool);
}

/* A thread waiting for a queued task (and stepping the pool meanwhile)
 * returns as soon as another thread cancels that task, not at its timeout. */
static void test_cancel_wakes_a_waiter(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *busy = t_submit(pool, "hang", 0);
    TWaiter waiter = {NULL, 3000, -2, 0, PROCREACT_TASK_QUEUED};
    pthread_t thread;
    (void)state;
    waiter.task = t_submit(pool, "echo:queued", 0);
    assert_int_equal(pthread_create(&thread, NULL, t_waiter_run, &waiter), 0);
    t_sleep_ms(200); /* the waiter steps, blocked: the one worker hangs */
    assert_int_equal(procreact_task_status(waiter.task), PROCREACT_TASK_QUEUED);
    assert_int_equal(procreact_task_cancel(waiter.task), 0);
    pthread_join(thread, NULL);
    print_message("# the waiter returned after %.3f s\n", waiter.took);
    assert_int_equal(waiter.rc, 0);
    assert_true(waiter.took < (t_under_valgrind() ? 2.0 : 1.0));
    assert_int_equal(procreact_task_status(waiter.task), PROCREACT_TASK_CANCELLED);
    procreact_task_free(waiter.task);
    procreact_task_free(busy);
    procreact_pool_free(pool);
}

typedef struct {
    ProcReact_Pool *pool;
    double after;
} LateShutdown;

static void *t_late_shutdown(void *arg)
{
    LateShutdown *l = (LateShutdown *)arg;
    t_sleep_ms(200);
    procreact_pool_shutdown(l->pool, 0, 2.0); /* cancels the queue, gives the running task 2 s */
    return NULL;
}

/* The same for a shutdown that cancels the queue while a thread waits for a
 * queued task: the waiter returns before the shutdown's bound. */
static void test_shutdown_wakes_a_waiter(void **state)
{
    ProcReact_Pool *pool = t_pool_new(1);
    ProcReact_Task *busy = t_submit(pool, "hang", 0);
    TWaiter waiter = {NULL, 3000, -2, 0, PROCREACT_TASK_QUEUED};
    LateShutdown late = {pool, 0};
    pthread_t thread, closing;
    (void)state;
    waiter.task = t_submit(pool, "echo:queued", 0);
    assert_int_equal(pthread_create(&thread, NULL, t_waiter_run, &waiter), 0);
    assert_int_equal(pthread_create(&closing, NULL, t_late_shutdown, &late), 0);
    pthread_join(thread, NULL);
    print_message("# the waiter returned after %.3f s\n", waiter.took);
    assert_int_equal(waiter.rc, 0);
    assert_true(waiter.took < (t_under_valgrind() ? 1.8 : 1.0));
    assert_int_equal(procreact_task_status(waiter.task), PROCREACT_TASK_CANCELLED);
    pthread_join(closing, NULL);
    procreact_task_free(waiter.task);
    procreact_task_free(busy);
    procreact_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_cancel_racing_a_reply),
        T_TEST(test_cancel_wakes_a_waiter),
        T_TEST(test_shutdown_wakes_a_waiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
