/* SPDX-License-Identifier: MIT */
/*
 * procreact_future.h: descriptors inherited by later children (upstream
 * defect 8). A future's child holds no write end of another future, a
 * child the application forks holds none of the library's, and a thread
 * that forks at any moment never catches a write end between pipe() and
 * the parent's close.
 */
#include "test.h"

#include <pthread.h>

#include <procreact_future.h>
#include <procreact_types.h>

/* ----------------------------------------- inherited descriptors (8) */

static int g_app_plain[2];
static int g_app_cloexec;
static FdSet g_library_fds;

/* In a child: 0 when no pipe write end other than its own is open (other
 * than the application's) and the application's own descriptors are. The
 * library's read ends and pidfds may be inherited: they are close-on-exec
 * and keep nobody's read from ending; a write end would. */
static int child_descriptor_verdict(int own_fd)
{
    int fd;
    for (fd = 3; fd < 1024; ++fd)
        if (fd != own_fd && fd != g_app_plain[1] && t_fd_is_pipe_writer(fd))
            return 100 + fd;
    if (!t_fd_is_open(g_app_plain[0]) || !t_fd_is_open(g_app_plain[1]) || !t_fd_is_open(g_app_cloexec))
        return 2;
    return 0;
}

/* Opens the application's descriptors, starts a pending future and records
 * which descriptors the library opened for it. */
static ProcReact_Future start_pending_future(void)
{
    FdSet before, after;
    ProcReact_Future pending;
    int fd;
    assert_int_equal(pipe(g_app_plain), 0);
    g_app_cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(g_app_cloexec >= 0);
    t_fd_snapshot(&before);
    pending = procreact_initialize_future(procreact_create_string_type());
    assert_true(pending.pid >= 0);
    if (pending.pid == 0) {
        t_sleep_ms(30000);
        _exit(0);
    }
    t_fd_snapshot(&after);
    memset(&g_library_fds, 0, sizeof g_library_fds);
    for (fd = 0; fd < 1024; ++fd)
        g_library_fds.open[fd] = after.open[fd] && !before.open[fd];
    assert_true(g_library_fds.open[pending.fd]);
    return pending;
}

static void close_app_fds(void)
{
    close(g_app_plain[0]);
    close(g_app_plain[1]);
    close(g_app_cloexec);
}

static void test_future_child_holds_no_other_future_descriptors(void **state)
{
    ProcReact_Future pending = start_pending_future();
    ProcReact_Future probe;
    ProcReact_Status status;
    char *verdict;
    (void)state;
    probe = procreact_initialize_future(procreact_create_string_type());
    assert_true(probe.pid >= 0);
    if (probe.pid == 0) {
        dprintf(probe.fd, "%d", child_descriptor_verdict(probe.fd));
        _exit(0);
    }
    verdict = (char *)procreact_future_get(&probe, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(verdict);
    /* 0: clean; 2: an application descriptor was closed; 100+n: a write
     * end n that is not the child's own leaked into it. */
    assert_string_equal(verdict, "0");
    free(verdict);
    procreact_destroy_future(&pending);
    close_app_fds();
}

static void test_app_child_holds_no_library_descriptors(void **state)
{
    ProcReact_Future pending = start_pending_future();
    pid_t child;
    int wstatus;
    (void)state;
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(child_descriptor_verdict(-1));
    wstatus = t_reap(child);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
    procreact_destroy_future(&pending);
    close_app_fds();
}

/* A thread that forks at any moment must not catch a future's write end
 * between pipe() and the parent's close: the future's read would then only
 * end when that unrelated child exits. */
static int g_forker_stop; /* shared with the forker thread: __atomic builtins only */
static pid_t g_forked[4096];
static int g_forked_count; /* written by the forker thread, read after pthread_join() */

static long g_forked_life_s;

static void *forker_thread(void *arg)
{
    /* Under valgrind every fork copies a large process: fork less often. */
    const long pause_ns = t_under_valgrind() ? 5000000L : 200000L;
    (void)arg;
    while (!__atomic_load_n(&g_forker_stop, __ATOMIC_ACQUIRE) && g_forked_count < 4096) {
        pid_t pid = fork();
        if (pid == 0) {
            struct timespec ts;
            ts.tv_sec = g_forked_life_s;
            ts.tv_nsec = 0;
            nanosleep(&ts, NULL);
            _exit(0);
        }
        if (pid > 0)
            g_forked[g_forked_count++] = pid;
        {
            struct timespec ts;
            ts.tv_sec = 0;
            ts.tv_nsec = pause_ns;
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void test_future_write_end_not_caught_by_concurrent_fork(void **state)
{
    pthread_t thread;
    double slowest = 0;
    int i, rounds = t_under_valgrind() ? 30 : 150;
    (void)state;
    g_forker_stop = 0;
    g_forked_count = 0;
    g_forked_life_s = t_under_valgrind() ? 20 : 3;
    assert_int_equal(pthread_create(&thread, NULL, forker_thread, NULL), 0);
    for (i = 0; i < rounds; ++i) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
        ProcReact_Status status;
        char *result;
        double start;
        if (future.pid == 0) {
            t_write_str(future.fd, "r");
            _exit(0);
        }
        if (future.pid < 0)
            break;
        start = t_now();
        result = (char *)procreact_future_get(&future, &status);
        if (t_now() - start > slowest)
            slowest = t_now() - start;
        if (result == NULL || strcmp(result, "r") != 0 || status != PROCREACT_STATUS_OK) {
            free(result);
            break;
        }
        free(result);
    }
    __atomic_store_n(&g_forker_stop, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    {
        int k;
        for (k = 0; k < g_forked_count; ++k)
            t_kill_and_reap(g_forked[k]);
    }
    assert_int_equal(i, rounds);
    assert_true(g_forked_count > 0);
    print_message("# slowest get: %.3f s, %d concurrent forks\n", slowest, g_forked_count);
    /* The forker's children live 3 s (20 s under valgrind); a caught write
     * end shows as a get that lasts until one of them dies. */
    assert_true(slowest < (double)g_forked_life_s * 2.0 / 3.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_future_child_holds_no_other_future_descriptors),
        T_TEST(test_app_child_holds_no_library_descriptors),
        T_TEST(test_future_write_end_not_caught_by_concurrent_fork),
    };
    return cmocka_run_group_tests_name("future_descriptors", tests, NULL, NULL);
}
