/* SPDX-License-Identifier: MIT */
/*
 * Waiting for spawned programs' exits by pid: an iterator of programs with
 * no stream to read, in a process of one thread, waits for their exits
 * with no pidfd at all (engine/collection_exits.cpp), and must stay exact
 * when the process has other children (never reaping or losing one), when
 * SIGCHLD is ignored, and when a cancellation comes from the same thread
 * or from a thread that appears meanwhile.
 *
 * Every scenario runs isolated, in a child forked from this test while it
 * has one thread (the library's choice depends on that).
 */
#include "test.h"

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <pthread.h>

typedef struct {
    int next, total, limit;
    int completed, right;
    int max_pidfds; /* the most pidfds open at a completion */
    const char *script; /* sh -c SCRIPT sh K, for job K */
    ProcReact_FutureIterator *it;
    int cancel_at;   /* job whose completion cancels the iterator (-1: none) */
    int thread_at;   /* job whose completion starts a thread that cancels (-1: none) */
    int steal_at;    /* job whose completion reaps every exited child itself (-1: none) */
    int stolen;      /* how many it reaped */
    pthread_t canceller;
    int have_canceller;
    pid_t pids[64]; /* job K's pid */
} Work;

static ProcReact_bool has_next(void *data)
{
    const Work *w = data;
    return w->next < w->total;
}

static ProcReact_Future next(void *data)
{
    Work *w = data;
    char k[16];
    snprintf(k, sizeof k, "%d", w->next++);
    const char *argv[] = {"/bin/sh", "-c", w->script, "sh", k, NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    procreact_command_set_stdout(c, PROCREACT_OUTPUT_INHERIT, -1);
    ProcReact_Future f = procreact_command_spawn(c, procreact_create_bytes_type());
    procreact_command_free(c);
    if (w->next - 1 < 64)
        w->pids[w->next - 1] = f.pid;
    return f;
}

static void *cancel_later(void *arg)
{
    t_sleep_ms(50);
    procreact_future_iterator_cancel((ProcReact_FutureIterator *)arg);
    return NULL;
}

static void complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Work *w = data;
    ProcReact_ExitInfo info;
    ProcReact_BytesState *bytes = future->result;
    const int pidfds = t_count_fds_of("pidfd");
    if (pidfds > w->max_pidfds)
        w->max_pidfds = pidfds;
    /* Job K exits with K % 5: the exit that came back is the job's own. */
    int k = 0;
    while (k < w->next && k < 64 && w->pids[k] != future->pid)
        ++k;
    if (status == PROCREACT_STATUS_OK && procreact_future_info(future, &info) == 0 && info.exited &&
        k < w->next && info.exit_code == k % 5)
        ++w->right;
    if (bytes != NULL) {
        free(bytes->data);
        free(bytes);
    }
    if (w->completed == w->steal_at) {
        t_sleep_ms(200); /* the other jobs have exited meanwhile */
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ++w->stolen;
    }
    if (w->completed == w->cancel_at)
        procreact_future_iterator_cancel(w->it);
    if (w->completed == w->thread_at && pthread_create(&w->canceller, NULL, cancel_later, w->it) == 0)
        w->have_canceller = 1;
    ++w->completed;
}

static void run(Work *w)
{
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(has_next, next, complete, w);
    w->it = &it;
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, (unsigned)w->limit);
    procreact_destroy_future_iterator(&it);
    if (w->have_canceller)
        pthread_join(w->canceller, NULL);
}

/* Whether this process has one thread (a sanitizer's runtime may run one
 * of its own: the library then waits on descriptors, as it must). */
static int one_thread(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            ++n;
    closedir(d);
    return n == 1;
}

static void work_init(Work *w, const char *script, int total, int limit)
{
    memset(w, 0, sizeof *w);
    w->script = script;
    w->total = total;
    w->limit = limit;
    w->cancel_at = w->thread_at = w->steal_at = -1;
}

/* Each job's own exit code, and not one pidfd while they ran. */
static int exits_without_pidfds(void)
{
    Work w;
    const int alone = one_thread();
    work_init(&w, "exit $(($1 % 5))", 40, 8);
    run(&w);
    CHECK(1, w.completed == 40);
    CHECK(2, w.right == 40);
    CHECK(3, w.max_pidfds == 0 || !alone);
    CHECK(4, t_no_children());
    return 0;
}

static void test_exits_without_pidfds(void **state)
{
    (void)state;
    if (t_fallback_mode() || t_under_valgrind())
        return; /* pidfds off, or the launcher off: nothing to tell apart */
    assert_int_equal(isolated(exits_without_pidfds, 60), 0);
}

/* A zombie of the application's own, there before the iterator starts:
 * every job completes, and the zombie is still there to be reaped. */
/* Runs @p total jobs of @p script, @p limit at a time, beside @p mine, a
 * child of the application's that exits with @p code: every job completes
 * as it ended, and @p mine is left for the application to reap. */
static int run_beside(pid_t mine, int code, const char *script, int total, int limit)
{
    Work w;
    CHECK(1, mine > 0);
    work_init(&w, script, total, limit);
    run(&w);
    CHECK(2, w.completed == total);
    CHECK(3, w.right == total);
    int wstatus = 0;
    CHECK(4, waitpid(mine, &wstatus, 0) == mine);
    CHECK(5, WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == code);
    CHECK(6, t_no_children());
    return 0;
}

static int zombie_of_the_application(void)
{
    const pid_t mine = t_fork_exiting(42);
    while (mine > 0 && !t_child_has_exited(mine))
        t_sleep_ms(1);
    return run_beside(mine, 42, "exit $(($1 % 5))", 24, 8);
}

static void test_zombie_of_the_application(void **state)
{
    (void)state;
    assert_int_equal(isolated(zombie_of_the_application, 60), 0);
}

/* A child of the application's that exits while the iterator waits. */
static int child_of_the_application_exits_meanwhile(void)
{
    return run_beside(t_fork_sleeper(100, 7), 7, "sleep 0.05; exit $(($1 % 5))", 24, 4);
}

static void test_child_of_the_application_exits_meanwhile(void **state)
{
    (void)state;
    assert_int_equal(isolated(child_of_the_application_exits_meanwhile, 60), 0);
}

/* An application that reaps children behind the library's back (waitpid(-1)
 * in a completion): the jobs it took complete (how they ended is lost),
 * every other job completes as it ended, and nothing hangs. */
static int children_taken_by_the_application(void)
{
    Work w;
    work_init(&w, "if [ $1 = 0 ]; then exit 0; fi; if [ $1 -lt 4 ]; then sleep 0.05; else sleep 0.3; fi; exit $(($1 % 5))",
              12, 4);
    w.steal_at = 0;
    run(&w);
    CHECK(1, w.completed == 12);
    CHECK(2, w.stolen >= 1);
    CHECK(3, w.right == 12 - w.stolen);
    CHECK(4, t_no_children());
    return 0;
}

static void test_children_taken_by_the_application(void **state)
{
    (void)state;
    assert_int_equal(isolated(children_taken_by_the_application, 60), 0);
}

/* SIGCHLD ignored: the kernel reaps every child itself. The iterator still
 * completes every job (how each ended is unknown then), without a hang. */
static int sigchld_ignored(void)
{
    Work w;
    signal(SIGCHLD, SIG_IGN);
    work_init(&w, "exit $(($1 % 5))", 16, 4);
    run(&w);
    CHECK(1, w.completed == 16);
    return 0;
}

static void test_sigchld_ignored(void **state)
{
    (void)state;
    assert_int_equal(isolated(sigchld_ignored, 30), 0);
}

/* A cancellation from a completion on the same thread: the jobs that still
 * run (they ignore SIGTERM) are killed after the grace period, and the
 * wait meanwhile sleeps (a wait that spun would use the whole period's CPU). */
static int cancel_from_completion_sleeps(void)
{
    Work w;
    work_init(&w, "if [ $1 = 0 ]; then exit 0; fi; trap '' TERM; sleep 5 & wait; sleep 5", 6, 6);
    w.cancel_at = 0;
    const double wall = t_now(), cpu = t_cpu();
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(has_next, next, complete, &w);
    w.it = &it;
    CHECK(1, procreact_future_iterator_set_stop(&it, SIGTERM, 0.5) == 0);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 6);
    procreact_destroy_future_iterator(&it);
    const double took = t_now() - wall, used = t_cpu() - cpu;
    CHECK(2, w.completed == 6);
    CHECK(3, took >= 0.4 && took < 4.0);
    CHECK(4, used < 0.3);
    CHECK(5, t_no_children());
    return 0;
}

static void test_cancel_from_completion_sleeps(void **state)
{
    (void)state;
    assert_int_equal(isolated(cancel_from_completion_sleeps, 30), 0);
}

/* A completion starts a thread, which cancels the iterator 50 ms later,
 * while the iterator waits for programs that run 5 s: they end at once. */
static int cancel_from_a_new_thread(void)
{
    Work w;
    work_init(&w, "if [ $1 = 0 ]; then exit 0; fi; exec sleep 5", 5, 5);
    w.thread_at = 0;
    const double wall = t_now();
    run(&w);
    CHECK(1, w.have_canceller);
    CHECK(2, w.completed == 5);
    CHECK(3, t_now() - wall < 3.0);
    CHECK(4, t_no_children());
    return 0;
}

static void test_cancel_from_a_new_thread(void **state)
{
    (void)state;
    assert_int_equal(isolated(cancel_from_a_new_thread, 30), 0);
}

/* A program spawned for a get, in a process of one thread: no pidfd (the
 * get reaps it by pid), and its exit and output come back whole. */
static int get_without_pidfd(void)
{
    const char *argv[] = {"/bin/sh", "-c", "sleep 0.05; echo out; exit 3", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    CHECK(1, c != NULL);
    ProcReact_Future f = procreact_command_spawn(c, procreact_create_string_type());
    procreact_command_free(c);
    CHECK(2, f.pid > 0);
    CHECK(3, t_count_fds_of("pidfd") == 0 || !one_thread());
    ProcReact_Status status;
    ProcReact_ExitInfo info;
    char *out = procreact_future_get_with_info(&f, &status, &info);
    CHECK(4, info.exited && info.exit_code == 3);
    CHECK(5, out == NULL); /* a non-zero exit gives no string (0.1's rule) */
    free(out);
    free(info.stderr_data);
    CHECK(6, t_no_children());
    return 0;
}

static void test_get_without_pidfd(void **state)
{
    (void)state;
    if (t_fallback_mode() || t_under_valgrind())
        return; /* no pidfds there in any case */
    assert_int_equal(isolated(get_without_pidfd, 30), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_exits_without_pidfds),
        T_TEST(test_zombie_of_the_application),
        T_TEST(test_child_of_the_application_exits_meanwhile),
        T_TEST(test_children_taken_by_the_application),
        T_TEST(test_sigchld_ignored),
        T_TEST(test_cancel_from_completion_sleeps),
        T_TEST(test_cancel_from_a_new_thread),
        T_TEST(test_get_without_pidfd),
    };
    return cmocka_run_group_tests_name("exit_waits", tests, NULL, NULL);
}
