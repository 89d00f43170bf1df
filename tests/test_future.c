/* SPDX-License-Identifier: MIT */
/*
 * procreact_future.h: one child, one result. Covers the upstream defects
 * around a single future: EINTR during reading (3), descriptors inherited by
 * later children (8), the read end leaked after a failed fork, the second
 * procreact_future_get() after a failure, and zombies left by
 * procreact_destroy_future() (9).
 */
#include "test.h"

#include <pthread.h>

#include <procreact_future.h>
#include <procreact_types.h>

/* ------------------------------------------------------------- basics */

static void test_future_string_result(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result;
    int read_end;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        dprintf(future.fd, "Hello %s!", "world");
        _exit(0);
    }
    assert_true(future.fd >= 0);
    assert_null(future.result);
    read_end = future.fd;
    result = (char *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_string_equal(result, "Hello world!");
    assert_ptr_equal(future.result, result);
    /* The pipe and the child are released by get. */
    assert_int_equal(future.fd, -1);
    assert_false(t_fd_is_open(read_end));
    free(result);
}

static void test_future_descriptor_flags(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status;
    char *result;
    int flags;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        /* The child's write end must survive exec(). */
        dprintf(future.fd, "%d", (fcntl(future.fd, F_GETFD) & FD_CLOEXEC) != 0);
        _exit(0);
    }
    /* The parent's read end must not leak into exec()'d programs. */
    flags = fcntl(future.fd, F_GETFD);
    assert_true(flags >= 0);
    assert_true((flags & FD_CLOEXEC) != 0);
    result = (char *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(result, "0");
    free(result);
}

static void test_future_child_execs_with_result_pipe(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status;
    char *result;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        if (dup2(future.fd, 1) < 0)
            _exit(120);
        execl("/bin/sh", "sh", "-c", "echo from-exec", (char *)NULL);
        _exit(121);
    }
    result = (char *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_string_equal(result, "from-exec\n");
    free(result);
}

/* ------------------------------------------------- repeatable get (9) */

static void test_future_get_repeatable_on_success(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL, again = PROCREACT_STATUS_FORK_FAIL;
    char *first, *second;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "cached");
        _exit(0);
    }
    first = (char *)procreact_future_get(&future, &status);
    second = (char *)procreact_future_get(&future, &again);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(again, PROCREACT_STATUS_OK);
    assert_non_null(first);
    assert_ptr_equal(first, second);
    assert_string_equal(second, "cached");
    assert_ptr_equal(procreact_future_get(&future, NULL), first);
    /* Destroying a completed future leaves the caller's result alone. */
    procreact_destroy_future(&future);
    assert_string_equal(first, "cached");
    free(first);
}

static void check_repeatable_failure(int exit_code, int signo, ProcReact_Status expected)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
    ProcReact_Status status = (ProcReact_Status)99, again = (ProcReact_Status)99;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "ignored");
        if (signo != 0)
            t_die_by_signal(signo);
        _exit(exit_code);
    }
    assert_null(procreact_future_get(&future, &status));
    assert_int_equal(status, expected);
    /* Upstream read a closed descriptor here. */
    assert_null(procreact_future_get(&future, &again));
    assert_int_equal(again, expected);
    procreact_destroy_future(&future);
}

static void test_future_get_repeatable_on_failure(void **state)
{
    ProcReact_Future failed;
    ProcReact_Type broken = procreact_create_string_type();
    ProcReact_Status status = PROCREACT_STATUS_OK;
    (void)state;
    check_repeatable_failure(4, 0, PROCREACT_STATUS_OK);
    check_repeatable_failure(0, SIGKILL, PROCREACT_STATUS_ABNORMAL_TERMINATION);

    broken.append = NULL;
    failed = procreact_initialize_future(broken);
    assert_int_equal(failed.pid, -1);
    assert_null(procreact_future_get(&failed, &status));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    status = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&failed, &status));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
}

static void test_future_null_and_refused(void **state)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    ProcReact_Type type = procreact_create_string_type();
    ProcReact_Future future;
    (void)state;
    assert_null(procreact_future_get(NULL, &status));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    procreact_destroy_future(NULL);

    type.finalize = NULL;
    future = procreact_initialize_future(type);
    assert_int_equal(future.pid, -1);
    assert_int_equal(future.fd, -1);
    procreact_destroy_future(&future); /* harmless */
    procreact_destroy_future(&future);

    type = procreact_create_bytes_type();
    type.append = NULL;
    future = procreact_initialize_future(type);
    assert_int_equal(future.pid, -1);
    assert_int_equal(future.fd, -1);
    procreact_destroy_future(&future);
}

/* -------------------------------------------------- destroy, zombies (9) */

static void test_future_destroy_running_leaves_no_zombie(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    pid_t pid;
    int read_end;
    double start;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "partial output");
        t_sleep_ms(30000);
        _exit(0);
    }
    pid = future.pid;
    read_end = future.fd;
    t_sleep_ms(20);
    start = t_now();
    procreact_destroy_future(&future);
    assert_true(t_now() - start < 10.0); /* it did not wait out the 30 s */
    assert_true(t_no_children());
    assert_false(t_pid_exists(pid));
    assert_false(t_fd_is_open(read_end));
    procreact_destroy_future(&future); /* twice is harmless */
}

static void test_future_destroy_exited_leaves_no_zombie(void **state)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
    pid_t pid;
    (void)state;
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "done");
        _exit(0);
    }
    pid = future.pid;
    while (!t_child_has_exited(pid))
        t_sleep_ms(1);
    procreact_destroy_future(&future);
    assert_true(t_no_children());
    assert_false(t_pid_exists(pid));
}

/* -------------------------------------------------- descriptor leaks (9) */

static void test_future_no_descriptor_leak(void **state)
{
    ProcReact_Type broken = procreact_create_string_type();
    int before, i;
    (void)state;
    broken.append = NULL;
    before = t_count_fds();
    assert_true(before > 0);
    for (i = 0; i < 40; ++i) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
        ProcReact_Status status;
        assert_true(future.pid >= 0);
        if (future.pid == 0) {
            t_write_str(future.fd, "x");
            _exit(0);
        }
        free(procreact_future_get(&future, &status));
        procreact_destroy_future(&future);
    }
    for (i = 0; i < 20; ++i) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
        assert_true(future.pid >= 0);
        if (future.pid == 0) {
            t_sleep_ms(30000);
            _exit(0);
        }
        procreact_destroy_future(&future);
    }
    for (i = 0; i < 40; ++i) {
        ProcReact_Future future = procreact_initialize_future(broken);
        assert_int_equal(future.pid, -1);
        procreact_destroy_future(&future);
    }
    assert_int_equal(t_count_fds(), before);
}

/* A real failed fork: in a helper process whose user may not have any more
 * processes (RLIMIT_NPROC 0), procreact_initialize_future() must report
 * pid -1 and leave the descriptor count as it was. */
static void test_future_failed_fork_leaks_nothing(void **state)
{
    pid_t helper;
    int wstatus;
    (void)state;
    helper = fork();
    assert_true(helper >= 0);
    if (helper == 0) {
        struct rlimit none = {0, 0};
        ProcReact_Future future;
        int before, after;
        if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10); /* root ignores RLIMIT_NPROC: become nobody */
        if (setrlimit(RLIMIT_NPROC, &none) != 0)
            _exit(11);
        before = t_count_fds();
        future = procreact_initialize_future(procreact_create_string_type());
        if (future.pid == 0)
            _exit(0); /* the fork was not refused after all */
        if (future.pid > 0) {
            procreact_destroy_future(&future);
            _exit(12);
        }
        after = t_count_fds();
        if (future.fd != -1)
            _exit(13);
        if (after != before)
            _exit(14);
        procreact_destroy_future(&future);
        if (t_count_fds() != before)
            _exit(15);
        _exit(0);
    }
    wstatus = t_reap(helper);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
}

/* --------------------------------------------------------- EINTR (3) */

static void write_slowly(int fd, int pieces, size_t piece_size, long pause_ms)
{
    size_t done = 0;
    int i;
    unsigned char buf[4096];
    t_child_quiet();
    for (i = 0; i < pieces; ++i) {
        t_fill_pattern(buf, done, piece_size);
        if (t_write_all(fd, buf, piece_size) != 0)
            _exit(120);
        done += piece_size;
        t_sleep_ms(pause_ms);
    }
}

static void test_future_get_survives_eintr(void **state)
{
    const int pieces = 40;
    const size_t piece = 1000;
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_BytesState *result;
    long signals;
    (void)state;
    t_storm_start(1000);
    future = procreact_initialize_future(procreact_create_bytes_type());
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        write_slowly(future.fd, pieces, piece, 10);
        _exit(0);
    }
    result = (ProcReact_BytesState *)procreact_future_get(&future, &status);
    signals = t_storm_stop();
    assert_true(signals >= 5);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_int_equal(result->data_size, pieces * piece);
    assert_int_equal(t_check_pattern((const unsigned char *)result->data, pieces * piece), pieces * piece);
    free(result->data);
    free(result);
}

static void test_future_string_array_survives_eintr(void **state)
{
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char **lines;
    long signals;
    int i;
    (void)state;
    t_storm_start(500);
    future = procreact_initialize_future(procreact_create_string_array_type('\n'));
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_child_quiet();
        for (i = 0; i < 30; ++i) {
            dprintf(future.fd, "line-%d", i);
            t_sleep_ms(5);
            dprintf(future.fd, "%s", i % 2 ? "-odd\n" : "-even\n");
            t_sleep_ms(5);
        }
        _exit(0);
    }
    lines = (char **)procreact_future_get(&future, &status);
    signals = t_storm_stop();
    assert_true(signals >= 5);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(lines);
    for (i = 0; i < 30; ++i) {
        char expected[32];
        snprintf(expected, sizeof expected, "line-%d%s", i, i % 2 ? "-odd" : "-even");
        assert_non_null(lines[i]);
        assert_string_equal(lines[i], expected);
    }
    assert_null(lines[30]);
    procreact_free_string_array(lines);
}

/* A custom type in the style of 0.1 clients: one plain read() per append,
 * which fails with EINTR under the storm; the library must retry it. */
typedef struct {
    char buf[65536];
    size_t len;
    int appends;
    int finalized_after_exit;
} CustomState;

static void *custom_initialize(void)
{
    return calloc(1, sizeof(CustomState));
}

static ssize_t custom_append(ProcReact_Type *type, void *state, int fd)
{
    CustomState *s = (CustomState *)state;
    ssize_t n;
    (void)type;
    if (s->len == sizeof s->buf)
        return -1;
    n = read(fd, s->buf + s->len, sizeof s->buf - s->len);
    if (n > 0)
        s->len += (size_t)n;
    ++s->appends;
    return n;
}

static void *custom_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    CustomState *s = (CustomState *)state;
    s->finalized_after_exit = t_child_has_exited(pid);
    if (!procreact_wait_for_boolean(pid, status)) {
        free(s);
        return NULL;
    }
    return s;
}

static void test_future_custom_type_survives_eintr(void **state)
{
    ProcReact_Type type;
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    CustomState *result;
    long signals;
    (void)state;
    memset(&type, 0, sizeof type);
    type.initialize = custom_initialize;
    type.append = custom_append;
    type.finalize = custom_finalize;
    t_storm_start(1000);
    future = procreact_initialize_future(type);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        write_slowly(future.fd, 30, 512, 10);
        _exit(0);
    }
    result = (CustomState *)procreact_future_get(&future, &status);
    signals = t_storm_stop();
    assert_true(signals >= 5);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    assert_int_equal(result->len, 30 * 512);
    assert_int_equal(t_check_pattern((const unsigned char *)result->buf, result->len), result->len);
    assert_true(result->appends >= 2);
    free(result);
}

/* procreact_types.h: "finalize is called once the child has exited and its
 * output has ended, so a wait inside it returns at once". The child here
 * closes its pipe and keeps running for a while. */
static void test_future_get_finalizes_after_exit(void **state)
{
    ProcReact_Type type;
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    CustomState *result;
    (void)state;
    memset(&type, 0, sizeof type);
    type.initialize = custom_initialize;
    type.append = custom_append;
    type.finalize = custom_finalize;
    future = procreact_initialize_future(type);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "early close");
        close(future.fd);
        t_sleep_ms(300);
        _exit(0);
    }
    result = (CustomState *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(result);
    {
        /* Freed before asserting: under valgrind a leak left by a failed
         * assertion would make every later child exit with an error. */
        const int complete = result->len == 11 && memcmp(result->buf, "early close", 11) == 0;
        const int after_exit = result->finalized_after_exit;
        free(result);
        assert_true(complete);
        assert_true(after_exit);
    }
}

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
        T_TEST(test_future_string_result),
        T_TEST(test_future_descriptor_flags),
        T_TEST(test_future_child_execs_with_result_pipe),
        T_TEST(test_future_get_repeatable_on_success),
        T_TEST(test_future_get_repeatable_on_failure),
        T_TEST(test_future_null_and_refused),
        T_TEST(test_future_destroy_running_leaves_no_zombie),
        T_TEST(test_future_destroy_exited_leaves_no_zombie),
        T_TEST(test_future_no_descriptor_leak),
        T_TEST(test_future_failed_fork_leaks_nothing),
        T_TEST(test_future_get_survives_eintr),
        T_TEST(test_future_string_array_survives_eintr),
        T_TEST(test_future_custom_type_survives_eintr),
        T_TEST(test_future_get_finalizes_after_exit),
        T_TEST(test_future_child_holds_no_other_future_descriptors),
        T_TEST(test_app_child_holds_no_library_descriptors),
        T_TEST(test_future_write_end_not_caught_by_concurrent_fork),
    };
    return cmocka_run_group_tests_name("future", tests, NULL, NULL);
}
