/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the hardening tests: counting this process's open
 * descriptors and children, scaling the workload, and a few checks that work
 * in both the parent (through cmocka) and forked children (through _exit).
 */
#ifndef PROCREACT_HARD_H
#define PROCREACT_HARD_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

/* Number of entries in /proc/self/fd, not counting the directory handle itself. */
static inline int hard_count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            ++n;
    closedir(dir);
    return n - 1;
}

/* Number of children of every thread of this process, zombies included
 * (from /proc/self/task/ TID /children). */
static inline int hard_count_children(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        int pid;
        while (fscanf(f, "%d", &pid) == 1)
            ++n;
        fclose(f);
    }
    closedir(dir);
    return n;
}

/* True when nothing is left to reap: no child at all (checked without reaping). */
static inline int hard_no_children(void)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do
        r = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
    while (r < 0 && errno == EINTR);
    return r < 0 && errno == ECHILD;
}

static inline long hard_env_long(const char *name)
{
    const char *s = getenv(name);
    long v = s != NULL ? strtol(s, NULL, 10) : 1;
    return v < 1 ? 1 : v;
}

/* Ends a forked child with @p code. Under valgrind (PROCREACT_TEST_VALGRIND)
 * the child execs a shell that exits with it instead: a process that execs
 * runs no leak check, and in a child of a multithreaded parent, blocks that
 * only the parent's other threads hold look lost, so the leak check would
 * replace the status the test looks at. */
static inline void hard_child_exit(int code)
{
    if (getenv("PROCREACT_TEST_VALGRIND") != NULL) {
        char script[16];
        snprintf(script, sizeof script, "exit %d", code & 255);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
    }
    _exit(code);
}

/* Workload scale: HARDENING_SCALE=N divides the iteration counts by N (the
 * sanitizer and valgrind runs set it), and HARDENING_SCALE_TEST=M, set by a
 * test registration itself, divides them further. Never returns less than
 * @p min. */
static inline long hard_scaled(long n, long min)
{
    n /= hard_env_long("HARDENING_SCALE") * hard_env_long("HARDENING_SCALE_TEST");
    return n < min ? min : n;
}

static inline double hard_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void hard_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Writes all of @p len bytes, retrying short writes and EINTR. Returns 0 or -1. */
static inline int hard_write_all(int fd, const void *buf, size_t len)
{
    const char *p = (const char *)buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Waits for one specific child with a deadline; kills it when the deadline
 * passes. Returns the wait status, or -1 on timeout (the child is then
 * killed and reaped). */
static inline int hard_wait_deadline(pid_t pid, double seconds)
{
    const double end = hard_now() + seconds;
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -2;
        if (hard_now() > end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        hard_sleep_ms(5);
    }
}

/* Restores default dispositions for the signals cmocka catches, so that a
 * child that crashes on purpose really dies of its signal. */
static inline void hard_default_crash_signals(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
}

/* A watchdog: when the process is still running @p seconds after this call,
 * it reports @p what as hung and exits with status 1 (a failure, not a
 * timeout, and without waiting for meson's much longer timeout). */
#include <pthread.h>
static const char *hard_watchdog_what;
static unsigned hard_watchdog_seconds;
static void *hard_watchdog_thread(void *arg)
{
    /* Against a monotonic deadline: sleep() returns whole seconds when a
     * signal interrupts it, so a storm of SIGCHLDs would shorten it by up to
     * a second per interruption and fire the watchdog early. */
    struct timespec deadline;
    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)hard_watchdog_seconds;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
        ;
    fprintf(stderr, "HANG: %s did not finish within %u s\n", hard_watchdog_what, hard_watchdog_seconds);
    fflush(stderr);
    _exit(1);
    return NULL;
}
static inline void hard_watchdog(const char *what, unsigned seconds)
{
    pthread_t t;
    hard_watchdog_what = what;
    hard_watchdog_seconds = seconds;
    if (pthread_create(&t, NULL, hard_watchdog_thread, NULL) == 0)
        pthread_detach(t);
}

/* A snapshot of the process's resources, to compare before and after. */
typedef struct {
    int fds;
    int children;
} HardSnapshot;

static inline HardSnapshot hard_snapshot(void)
{
    HardSnapshot s;
    s.fds = hard_count_fds();
    s.children = hard_count_children();
    return s;
}

/* Asserts that nothing leaked since @p before: same descriptor count, no
 * child left (neither running nor a zombie). */
#define HARD_ASSERT_NO_LEAK(before)                                                                                  \
    do {                                                                                                             \
        HardSnapshot after_ = hard_snapshot();                                                                       \
        if (after_.fds != (before).fds || after_.children != (before).children)                                     \
            print_error("leak: fds %d -> %d, children %d -> %d\n", (before).fds, after_.fds, (before).children,      \
                        after_.children);                                                                            \
        assert_int_equal(after_.fds, (before).fds);                                                                  \
        assert_int_equal(after_.children, (before).children);                                                        \
        assert_true(hard_no_children());                                                                             \
    } while (0)

#endif /* PROCREACT_HARD_H */
