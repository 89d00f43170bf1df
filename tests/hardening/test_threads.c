/* SPDX-License-Identifier: MIT */
/*
 * Suite 'threads': 8 threads, each with its own pid iterator and future
 * iterator (with limits), all at once. Every thread must see exactly its own
 * completions, each with the right result: a child's output names its thread
 * and index, and a pid iterator's completion must be for a pid that this very
 * thread's next() returned, with the exit code that child was given.
 * Also built under ThreadSanitizer by .ci/sanitizers.sh.
 */
#include "hard.h"

#include <pthread.h>

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_types.h>

#define THREADS 8
#define PER_ROUND 40

typedef struct {
    int thread;
    long next, total;
    pid_t pids[PER_ROUND];
    int done[PER_ROUND];
    long ok, wrong;
} Work;

static void work_reset(Work *w, int thread, long total)
{
    memset(w, 0, sizeof *w);
    w->thread = thread;
    w->total = total;
}

static ProcReact_bool has_next(void *data)
{
    Work *w = data;
    return w->next < w->total;
}

static ProcReact_Future future_next(void *data)
{
    Work *w = data;
    const long i = w->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_array_type(' '));
    if (f.pid == 0) {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "%d %ld", w->thread, i);
        if (i % 3 == 0)
            hard_sleep_ms(2);
        hard_child_exit(hard_write_all(f.fd, buf, (size_t)len) == 0 ? 0 : 1);
    }
    return f;
}

static void future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Work *w = data;
    char **arr = future->result;
    if (status == PROCREACT_STATUS_OK && arr != NULL && arr[0] != NULL && arr[1] != NULL && arr[2] == NULL) {
        const int thread = atoi(arr[0]);
        const long i = strtol(arr[1], NULL, 10);
        if (thread == w->thread && i >= 0 && i < w->total && !w->done[i]) {
            w->done[i] = 1;
            w->ok++;
        } else {
            w->wrong++;
        }
    } else {
        w->wrong++;
    }
    procreact_free_string_array(arr);
}

static int exit_code_for(int thread, long i) { return (thread * 31 + (int)i) % 256; }

static pid_t pid_next(void *data)
{
    Work *w = data;
    const long i = w->next++;
    pid_t pid = fork();
    if (pid == 0) {
        if (i % 4 == 0)
            hard_sleep_ms(3);
        hard_child_exit(exit_code_for(w->thread, i));
    }
    w->pids[i] = pid;
    return pid;
}

static void pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Work *w = data;
    for (long i = 0; i < w->next; ++i) {
        if (w->pids[i] == pid && !w->done[i]) {
            w->done[i] = 1;
            if (status == PROCREACT_STATUS_OK && result == exit_code_for(w->thread, i))
                w->ok++;
            else
                w->wrong++;
            return;
        }
    }
    w->wrong++; /* somebody else's child, or twice */
}

typedef struct {
    int index;
    long rounds;
    long ok, wrong, futures, processes;
} ThreadResult;

static void *worker(void *arg)
{
    ThreadResult *res = arg;
    Work w;
    for (long round = 0; round < res->rounds; ++round) {
        const unsigned limit = (unsigned)(1 + (res->index + round) % 6);

        work_reset(&w, res->index, PER_ROUND);
        ProcReact_FutureIterator fit = procreact_initialize_future_iterator(has_next, future_next, future_complete, &w);
        procreact_fork_buffer_and_wait_in_parallel_limit(&fit, limit);
        procreact_destroy_future_iterator(&fit);
        res->ok += w.ok;
        res->wrong += w.wrong + (w.ok != w.total);
        res->futures += w.total;

        work_reset(&w, res->index, PER_ROUND);
        ProcReact_PidIterator pit = procreact_initialize_pid_iterator(has_next, pid_next, NULL, pid_complete, &w);
        if (round % 2 == 0) {
            procreact_fork_and_wait_in_parallel_limit(&pit, limit);
        } else {
            /* the main-loop style, without blocking */
            while (w.ok + w.wrong < w.total) {
                while (pit.running_processes < limit && procreact_spawn_next_pid(&pit))
                    ;
                procreact_complete_all_finished_processes(&pit);
                hard_sleep_ms(1);
            }
        }
        res->ok += w.ok;
        res->wrong += w.wrong + (w.ok != w.total);
        res->processes += w.total;

        /* and one plain future */
        ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
        if (f.pid == 0) {
            char buf[32];
            int len = snprintf(buf, sizeof buf, "solo %d", res->index);
            hard_child_exit(hard_write_all(f.fd, buf, (size_t)len) == 0 ? 0 : 1);
        }
        ProcReact_Status st;
        char *s = procreact_future_get(&f, &st);
        char expect[32];
        snprintf(expect, sizeof expect, "solo %d", res->index);
        if (st == PROCREACT_STATUS_OK && s != NULL && strcmp(s, expect) == 0)
            res->ok++;
        else
            res->wrong++;
        free(s);
        res->futures++;
    }
    return NULL;
}

static void eight_threads(void **unused)
{
    (void)unused;
    assert_int_equal(procreact_register_signal_handler(), 0);
    HardSnapshot before = hard_snapshot();
    pthread_t threads[THREADS];
    ThreadResult results[THREADS];
    const long rounds = hard_scaled(12, 2);
    for (int t = 0; t < THREADS; ++t) {
        memset(&results[t], 0, sizeof results[t]);
        results[t].index = t;
        results[t].rounds = rounds;
        assert_int_equal(pthread_create(&threads[t], NULL, worker, &results[t]), 0);
    }
    long ok = 0, wrong = 0, futures = 0, processes = 0;
    for (int t = 0; t < THREADS; ++t) {
        pthread_join(threads[t], NULL);
        ok += results[t].ok;
        wrong += results[t].wrong;
        futures += results[t].futures;
        processes += results[t].processes;
        if (results[t].wrong != 0)
            print_error("thread %d: %ld wrong completions\n", t, results[t].wrong);
    }
    print_message("threads: %d threads, %ld futures + %ld processes, %ld right, %ld wrong\n", THREADS, futures,
                  processes, ok, wrong);
    assert_int_equal(wrong, 0);
    assert_int_equal(ok, futures + processes);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the threads test", (unsigned)(getenv("HARDENING_SCALE") ? 1200 : 150));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
