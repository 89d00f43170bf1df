/* SPDX-License-Identifier: MIT */
/*
 * Suite 'signals': a storm of signals whose handlers are installed without
 * SA_RESTART, so every blocking call the library makes (read, poll,
 * epoll_wait, waitid, waitpid) keeps failing with EINTR. Two sources: an
 * interval timer (ITIMER_REAL, SIGALRM) firing every 100 microseconds, and a
 * thread sending SIGUSR1 to the main thread in a loop. Every byte must
 * arrive, every status must be right, nothing may hang (meson's timeout).
 */
#include "hard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_types.h>

static atomic_ulong g_alarms;
static atomic_ulong g_usr1;
static atomic_ulong g_chld;
static atomic_int g_stop;
static pthread_t g_main_thread;
static pthread_t g_sender;

static void on_alarm(int signo)
{
    (void)signo;
    atomic_fetch_add_explicit(&g_alarms, 1, memory_order_relaxed);
}

static void on_usr1(int signo)
{
    (void)signo;
    atomic_fetch_add_explicit(&g_usr1, 1, memory_order_relaxed);
}

static void on_chld(int signo)
{
    (void)signo;
    atomic_fetch_add_explicit(&g_chld, 1, memory_order_relaxed);
}

/* The storm's period: 100 us for SIGALRM and 50 us between SIGUSR1s, times
 * HARDENING_SCALE. Under valgrind one signal costs the parent far more than
 * 100 us of wall time once it shares the CPU with other tests, and a storm
 * faster than the parent can take it starves the parent instead of testing
 * it (seen: 11 s alone, over 200 s beside two other valgrind tests). */
static long storm_scale(void)
{
    return hard_env_long("HARDENING_SCALE");
}

static void *sender(void *arg)
{
    (void)arg;
    const long nsec = 50000L * storm_scale();
    while (!atomic_load(&g_stop)) {
        pthread_kill(g_main_thread, SIGUSR1);
        struct timespec ts = { nsec / 1000000000L, nsec % 1000000000L };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int storm_start(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls fail with EINTR */
    sa.sa_handler = on_alarm;
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = on_usr1;
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return -1;
    /* the application's own SIGCHLD handler, also without SA_RESTART */
    sa.sa_handler = on_chld;
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        return -1;
    g_main_thread = pthread_self();
    atomic_store(&g_stop, 0);
    if (pthread_create(&g_sender, NULL, sender, NULL) != 0)
        return -1;
    const long usec = 100L * storm_scale();
    struct itimerval it = { { usec / 1000000L, usec % 1000000L }, { usec / 1000000L, usec % 1000000L } };
    return setitimer(ITIMER_REAL, &it, NULL);
}

static int storm_stop(void **state)
{
    (void)state;
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    atomic_store(&g_stop, 1);
    pthread_join(g_sender, NULL);
    print_message("signals: %lu SIGALRM + %lu SIGUSR1 + %lu SIGCHLD delivered to the parent\n",
                  atomic_load(&g_alarms), atomic_load(&g_usr1), atomic_load(&g_chld));
    return 0;
}

/* The byte at offset @p off of output number @p id. */
static unsigned char pattern(unsigned long id, unsigned long off)
{
    return (unsigned char)((off * 131u + id * 7u + (off >> 9)) & 0xff);
}

/* Child: writes @p size pattern bytes in small pieces with short pauses, so
 * that the parent sleeps in read/poll many times. */
static void write_pattern(int fd, unsigned long id, unsigned long size, unsigned long piece)
{
    unsigned char buf[8192];
    unsigned long off = 0;
    unsigned long pieces = 0;
    while (off < size) {
        unsigned long n = size - off < piece ? size - off : piece;
        if (n > sizeof buf)
            n = sizeof buf;
        for (unsigned long k = 0; k < n; ++k)
            buf[k] = pattern(id, off + k);
        if (hard_write_all(fd, buf, n) != 0)
            _exit(3);
        off += n;
        if (++pieces % 8 == 0)
            hard_sleep_ms(1);
    }
}

static int check_pattern(const unsigned char *data, unsigned long size, unsigned long id)
{
    for (unsigned long k = 0; k < size; ++k)
        if (data[k] != pattern(id, k))
            return 0;
    return 1;
}

static unsigned long signals_now(void) { return atomic_load(&g_alarms) + atomic_load(&g_usr1); }

static void futures_under_storm(void **unused)
{
    (void)unused;
    const long n = hard_scaled(60, 6);
    const unsigned long size = 256 * 1024;
    HardSnapshot before = hard_snapshot();
    unsigned long sig0 = signals_now();
    for (long i = 0; i < n; ++i) {
        ProcReact_Future f = procreact_initialize_future(procreact_create_bytes_type());
        if (f.pid == 0) {
            write_pattern(f.fd, (unsigned long)i, size, 4096);
            _exit(0);
        }
        assert_true(f.pid > 0);
        ProcReact_Status st;
        ProcReact_BytesState *b = procreact_future_get(&f, &st);
        assert_int_equal(st, PROCREACT_STATUS_OK);
        assert_non_null(b);
        assert_int_equal(b->data_size, size);
        assert_true(check_pattern(b->data, size, (unsigned long)i));
        free(b->data);
        free(b);
    }
    print_message("signals: %ld futures of %lu bytes each, %lu signals meanwhile\n", n, size, signals_now() - sig0);
    assert_true(signals_now() > sig0);
    HARD_ASSERT_NO_LEAK(before);
}

typedef struct {
    long next, total, ok, wrong;
} Run;

static ProcReact_bool run_has_next(void *data)
{
    Run *r = data;
    return r->next < r->total;
}

static ProcReact_Future iter_next(void *data)
{
    Run *r = data;
    const long i = r->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_array_type('\n'));
    if (f.pid == 0) {
        /* 300 lines "i:j", written a few at a time with pauses */
        char line[64];
        for (int j = 0; j < 300; ++j) {
            int len = snprintf(line, sizeof line, "%ld:%d\n", i, j);
            if (hard_write_all(f.fd, line, (size_t)len) != 0)
                _exit(3);
            if (j % 50 == 0)
                hard_sleep_ms(1);
        }
        _exit(0);
    }
    return f;
}

static void iter_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    char **arr = future->result;
    int good = status == PROCREACT_STATUS_OK && arr != NULL;
    long id = -1;
    if (good) {
        id = strtol(arr[0], NULL, 10);
        for (int j = 0; good && j < 300; ++j) {
            char line[64];
            snprintf(line, sizeof line, "%ld:%d", id, j);
            good = arr[j] != NULL && strcmp(arr[j], line) == 0;
        }
        good = good && arr[300] == NULL;
    }
    if (good)
        r->ok++;
    else
        r->wrong++;
    procreact_free_string_array(arr);
}

static void future_iterator_under_storm(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    unsigned long sig0 = signals_now();
    Run run = { 0, hard_scaled(300, 20), 0, 0 };
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(run_has_next, iter_next, iter_complete, &run);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 6);
    procreact_destroy_future_iterator(&it);
    print_message("signals: future iterator: %ld ok, %ld wrong, %lu signals meanwhile\n", run.ok, run.wrong,
                  signals_now() - sig0);
    assert_int_equal(run.ok, run.total);
    assert_int_equal(run.wrong, 0);
    HARD_ASSERT_NO_LEAK(before);
}

static pid_t pid_next(void *data)
{
    Run *r = data;
    const long i = r->next++;
    pid_t pid = fork();
    if (pid == 0) {
        hard_sleep_ms(1 + i % 4);
        _exit((int)(i % 100));
    }
    return pid;
}

static void pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Run *r = data;
    /* the exit code is the index modulo 100; the pid tells nothing about the
     * index, so only the range and status are checked here */
    if (pid > 0 && status == PROCREACT_STATUS_OK && result >= 0 && result < 100)
        r->ok++;
    else
        r->wrong++;
}

static void pid_iterator_under_storm(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    unsigned long sig0 = signals_now();
    Run run = { 0, hard_scaled(1000, 50), 0, 0 };
    ProcReact_PidIterator it =
        procreact_initialize_pid_iterator(run_has_next, pid_next, procreact_retrieve_exit_status, pid_complete, &run);
    procreact_fork_and_wait_in_parallel_limit(&it, 8);
    print_message("signals: pid iterator: %ld ok, %ld wrong, %lu signals meanwhile\n", run.ok, run.wrong,
                  signals_now() - sig0);
    assert_int_equal(run.ok, run.total);
    assert_int_equal(run.wrong, 0);
    HARD_ASSERT_NO_LEAK(before);
}

static void direct_waits_under_storm(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    const long n = hard_scaled(100, 10);
    for (long i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            hard_sleep_ms(5);
            _exit((int)(i % 50) + 1);
        }
        assert_true(pid > 0);
        ProcReact_Status st = PROCREACT_STATUS_FORK_FAIL;
        if (i % 2 == 0) {
            assert_int_equal(procreact_wait_for_exit_status(pid, &st), (int)(i % 50) + 1);
        } else {
            assert_false(procreact_wait_for_boolean(pid, &st));
        }
        assert_int_equal(st, PROCREACT_STATUS_OK);
    }
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    /* the watchdog blocks the storm's signals so that its sleep() runs through */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    hard_watchdog("the signal storm tests", (unsigned)(getenv("HARDENING_SCALE") ? 200 : 60));
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(futures_under_storm),
        cmocka_unit_test(future_iterator_under_storm),
        cmocka_unit_test(pid_iterator_under_storm),
        cmocka_unit_test(direct_waits_under_storm),
    };
    return cmocka_run_group_tests(tests, storm_start, storm_stop);
}
