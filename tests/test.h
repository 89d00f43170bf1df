/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the cmocka unit tests: clocks, descriptor bookkeeping,
 * data patterns, a signal storm for the EINTR tests, the cmocka glue and
 * isolated scenarios. The helpers for child processes are in
 * children_test.h, which this header includes.
 *
 * Every helper is static so that each test executable stays one translation
 * unit plus this header.
 */
#ifndef PROCREACT_TEST_H
#define PROCREACT_TEST_H

#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

/* ---------------------------------------------------------------- clocks */

/** Seconds on the monotonic clock. */
static inline double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** CPU seconds used by this process (not its children). */
static inline double t_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Sleeps for @p ms milliseconds, resuming after signals. */
static inline void t_sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/** True when the test runs under the valgrind setup (heavier work is scaled down). */
static inline int t_under_valgrind(void)
{
    const char *v = getenv("PROCREACT_TEST_VALGRIND");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/** True when the library was told to work without pidfds. */
static inline int t_fallback_mode(void)
{
    const char *v = getenv("PROCREACT_NO_PIDFD");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* ------------------------------------------------------------ descriptors */

/** Number of open descriptors of this process. */
static inline int t_count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    int count = 0;
    struct dirent *entry;
    if (dir == NULL)
        return -1;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            ++count;
    closedir(dir);
    return count - 1; /* the directory's own descriptor */
}

/** Open descriptors of this process whose link names @p kind ("eventpoll",
 *  "eventfd", "timerfd"), or -1 when /proc/self/fd cannot be read. */
static inline int t_count_fds_of(const char *kind)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    int count = 0;
    if (dir == NULL)
        return -1;
    while ((entry = readdir(dir)) != NULL) {
        char path[300], link[128];
        ssize_t n;
        snprintf(path, sizeof path, "/proc/self/fd/%s", entry->d_name);
        n = readlink(path, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (strstr(link, kind) != NULL)
            ++count;
    }
    closedir(dir);
    return count;
}

/** True when @p fd is an open descriptor. */
static inline int t_fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/** True when @p fd is open and is the write end of a pipe. */
static inline int t_fd_is_pipe_writer(int fd)
{
    struct stat st;
    const int flags = fcntl(fd, F_GETFL);
    return flags != -1 && (flags & O_ACCMODE) == O_WRONLY && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/** Bitmap of open descriptors below 1024 (the directory's own one excluded). */
typedef struct {
    unsigned char open[1024];
} FdSet;

static inline void t_fd_snapshot(FdSet *set)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    memset(set, 0, sizeof *set);
    if (dir == NULL)
        return;
    while ((entry = readdir(dir)) != NULL) {
        int fd;
        if (entry->d_name[0] == '.')
            continue;
        fd = atoi(entry->d_name);
        if (fd >= 0 && fd < 1024 && fd != dirfd(dir))
            set->open[fd] = 1;
    }
    closedir(dir);
}

/** Writes all of @p len bytes, resuming after short writes and EINTR. */
static inline int t_write_all(int fd, const void *buf, size_t len)
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

/** Writes a NUL-terminated string. */
static inline int t_write_str(int fd, const char *s)
{
    return t_write_all(fd, s, strlen(s));
}

/* -------------------------------------------------------------- processes */

/* Children: checks, stand-ins, a pid iterator's planned children. */
#include "children_test.h"

/* -------------------------------------------------------------- patterns */

/** The byte at @p index of the test pattern: not periodic at 2^n, never NUL. */
static inline unsigned char t_pattern_byte(size_t index)
{
    unsigned char b = (unsigned char)((index * 2654435761u) >> 13) ^ (unsigned char)(index / 251);
    return b == 0 ? (unsigned char)0x5a : b;
}

static inline void t_fill_pattern(unsigned char *buf, size_t offset, size_t len)
{
    size_t i;
    for (i = 0; i < len; ++i)
        buf[i] = t_pattern_byte(offset + i);
}

/** Index of the first byte that differs from the pattern, or @p len when all match. */
static inline size_t t_check_pattern(const unsigned char *buf, size_t len)
{
    size_t i;
    for (i = 0; i < len; ++i)
        if (buf[i] != t_pattern_byte(i))
            return i;
    return len;
}

/** In a child: writes @p total pattern bytes to @p fd in chunks of @p chunk. */
static inline int t_write_pattern(int fd, size_t total, size_t chunk)
{
    unsigned char *buf = (unsigned char *)malloc(chunk);
    size_t done = 0;
    if (buf == NULL)
        return -1;
    while (done < total) {
        size_t n = total - done < chunk ? total - done : chunk;
        t_fill_pattern(buf, done, n);
        if (t_write_all(fd, buf, n) != 0) {
            free(buf);
            return -1;
        }
        done += n;
    }
    free(buf);
    return 0;
}

/* --------------------------------------------------- signal storm (EINTR) */

static volatile sig_atomic_t t_storm_count;
static volatile sig_atomic_t t_storm_expired;
static struct timespec t_storm_deadline;

static void t_storm_handler(int signo)
{
    struct timespec now;
    (void)signo;
    ++t_storm_count;
    /* A call that restarts a full timeout on every EINTR never returns
     * under the storm. Stop it at the deadline, so that such a livelock
     * shows as a failure instead of a hang. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > t_storm_deadline.tv_sec ||
        (now.tv_sec == t_storm_deadline.tv_sec && now.tv_nsec >= t_storm_deadline.tv_nsec)) {
        struct itimerval off;
        memset(&off, 0, sizeof off);
        setitimer(ITIMER_REAL, &off, NULL);
        t_storm_expired = 1;
    }
}

/**
 * Installs a SIGALRM handler without SA_RESTART and fires it every
 * @p interval_us microseconds, so that every blocking call of this process
 * keeps failing with EINTR unless it is retried. The storm ends by itself
 * after @p deadline_s seconds (five times that under valgrind);
 * t_storm_stop() then reports failure.
 */
static inline void t_storm_start_for(long interval_us, long deadline_s)
{
    struct sigaction action;
    struct itimerval timer;
    memset(&action, 0, sizeof action);
    action.sa_handler = t_storm_handler;
    action.sa_flags = 0; /* deliberately no SA_RESTART */
    sigemptyset(&action.sa_mask);
    t_storm_count = 0;
    t_storm_expired = 0;
    clock_gettime(CLOCK_MONOTONIC, &t_storm_deadline);
    t_storm_deadline.tv_sec += t_under_valgrind() ? 5 * deadline_s : deadline_s;
    sigaction(SIGALRM, &action, NULL);
    memset(&timer, 0, sizeof timer);
    timer.it_interval.tv_sec = interval_us / 1000000;
    timer.it_interval.tv_usec = interval_us % 1000000;
    timer.it_value = timer.it_interval;
    setitimer(ITIMER_REAL, &timer, NULL);
}

/** A storm with a 10 s deadline. */
static inline void t_storm_start(long interval_us)
{
    t_storm_start_for(interval_us, 10);
}

/**
 * Stops the storm; returns how many signals arrived, or -1 (with a message)
 * when the call under test was still blocked at the storm's deadline.
 *
 * The handler stays installed: a signal already pending when the timer
 * stops (valgrind delivers them late) must not meet the default action,
 * which would end the process.
 */
static inline long t_storm_stop(void)
{
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    if (t_storm_expired) {
        print_error("the call under test did not return while signals kept interrupting it "
                    "(a timeout restarted in full after each EINTR?)\n");
        return -1;
    }
    return (long)t_storm_count;
}

/** In a child: stop the inherited storm handler from disturbing the child's own sleeps. */
static inline void t_child_quiet(void)
{
    signal(SIGALRM, SIG_IGN);
}


/* ------------------------------------------------------------ cmocka glue */

/**
 * Teardown shared by the tests: fails the test when it left a child of this
 * process behind (running or zombie), then reaps such children so that the
 * next test starts clean.
 */
static inline int t_teardown_no_children(void **state)
{
    int clean;
    (void)state;
    clean = t_no_children();
    if (!clean) {
        print_error("a child process was left behind (zombie or running)\n");
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
    return clean ? 0 : -1;
}

/** A unit test that must leave no child behind. */
#define T_TEST(f) cmocka_unit_test_teardown(f, t_teardown_no_children)

/* ------------------------------------------------ launcher threads */

/** The library's spawning threads now (named "procreact-spawn"), -1 on error. */
static inline int t_launcher_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], name[32] = "";
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(name, sizeof name, f) != NULL && strcmp(name, "procreact-spawn\n") == 0)
            ++n;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* -------------------------------------------------- isolated scenarios */

/* Runs @p scenario in a child with @p seconds to finish; returns its verdict
 * (0: all checks held; 1-99: the check that failed; 200+n: killed by signal
 * n, e.g. 214 for a hang caught by the alarm, 211 for SIGSEGV; 199: ended
 * without a verdict). */
static inline int t_isolated(int (*scenario)(void), unsigned seconds)
{
    pid_t pid;
    int wstatus = 0, p[2];
    unsigned char verdict;
    fflush(NULL);
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(t_under_valgrind() ? seconds * 10 : seconds);
        verdict = (unsigned char)scenario();
        _exit(write(p[1], &verdict, 1) == 1 ? 0 : 198);
    }
    close(p[1]);
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    /* The byte was written before the child ended: no wait for end of
     * stream, which a grandchild could still hold off. */
    if (read(p[0], &verdict, 1) == 1) {
        close(p[0]);
        return verdict;
    }
    close(p[0]);
    if (WIFSIGNALED(wstatus))
        return 200 + WTERMSIG(wstatus);
    return 199;
}

#define isolated t_isolated

/* In a scenario: returns @p n (the check that failed) unless @p cond holds. */
#define CHECK(n, cond)                                                                                             \
    do {                                                                                                           \
        if (!(cond))                                                                                               \
            return (n);                                                                                            \
    } while (0)

#endif /* PROCREACT_TEST_H */
