/* SPDX-License-Identifier: MIT */
/*
 * Test-only fork() interposer. Linked into a test executable (or loaded with
 * LD_PRELOAD), its fork() comes before the C library's in symbol lookup, so
 * every fork() the test and libprocreact make passes through it. The test
 * arms it with forkfail_arm(skip, count): the next `skip` calls fork for
 * real, the `count` after them fail with EAGAIN without creating anything,
 * as fork() does when the process limit is reached. HARD_FORKFAIL=skip:count
 * in the environment arms it at load time.
 *
 * It also counts close(), poll() and epoll_wait() calls, and interposes both
 * waits (a collection waits with poll() while small, epoll_wait() beyond):
 * epollfail_arm(count) makes the next `count` calls of either fail with
 * EINVAL without waiting.
 *
 * This is used instead of RLIMIT_NPROC (not enforced for root, which the
 * tests run as) and instead of a cgroup pids limit (the cgroup hierarchy is
 * not writable in CI containers).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "forkfail.h"

static atomic_long g_skip;
static atomic_long g_fail;
static atomic_long g_calls;
static atomic_long g_failed;

static atomic_long g_delay_ms;
static atomic_long g_in_fork;

typedef pid_t (*fork_fn)(void);

void forkfail_arm(long skip, long count)
{
    atomic_store(&g_skip, skip);
    atomic_store(&g_fail, count);
}

long forkfail_calls(void) { return atomic_load(&g_calls); }

long forkfail_failed(void) { return atomic_load(&g_failed); }

__attribute__((constructor)) static void forkfail_from_env(void)
{
    const char *s = getenv("HARD_FORKFAIL");
    long skip, count;
    if (s != NULL && sscanf(s, "%ld:%ld", &skip, &count) == 2)
        forkfail_arm(skip, count);
}

pid_t fork(void)
{
    static fork_fn real_fork;
    if (real_fork == NULL)
        *(void **)&real_fork = dlsym(RTLD_NEXT, "fork");
    atomic_fetch_add(&g_calls, 1);
    if (atomic_load(&g_skip) > 0) {
        atomic_fetch_sub(&g_skip, 1);
    } else if (atomic_load(&g_fail) > 0) {
        atomic_fetch_sub(&g_fail, 1);
        atomic_fetch_add(&g_failed, 1);
        errno = EAGAIN;
        return -1;
    }
    if (atomic_load(&g_delay_ms) > 0) {
        /* A slow fork, as of a large parent: the caller waits here first. */
        struct timespec ts = {atomic_load(&g_delay_ms) / 1000, (atomic_load(&g_delay_ms) % 1000) * 1000000L};
        atomic_fetch_add(&g_in_fork, 1);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        atomic_fetch_sub(&g_in_fork, 1);
    }
    return real_fork();
}

void forkfail_delay(long ms) { atomic_store(&g_delay_ms, ms); }

long forkfail_in_fork(void) { return atomic_load(&g_in_fork); }

static atomic_long g_epoll_fail;
static atomic_long g_epoll_failed;

typedef int (*epoll_wait_fn)(int, struct epoll_event *, int, int);

void epollfail_arm(long count) { atomic_store(&g_epoll_fail, count); }

long epollfail_failed(void) { return atomic_load(&g_epoll_failed); }

static atomic_long g_waits;

long waitcount(void) { return atomic_load(&g_waits); }

typedef int (*poll_fn)(struct pollfd *, nfds_t, int);

/* Takes one armed failure, if any. */
static int take_wait_failure(void)
{
    if (atomic_load(&g_epoll_fail) <= 0)
        return 0;
    atomic_fetch_sub(&g_epoll_fail, 1);
    atomic_fetch_add(&g_epoll_failed, 1);
    errno = EINVAL;
    return 1;
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    static poll_fn real_poll;
    if (real_poll == NULL)
        *(void **)&real_poll = dlsym(RTLD_NEXT, "poll");
    atomic_fetch_add(&g_waits, 1);
    if (take_wait_failure())
        return -1;
    return real_poll(fds, nfds, timeout);
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    static epoll_wait_fn real_epoll_wait;
    atomic_fetch_add(&g_waits, 1);
    if (real_epoll_wait == NULL)
        *(void **)&real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
    if (take_wait_failure())
        return -1;
    return real_epoll_wait(epfd, events, maxevents, timeout);
}

static atomic_long g_closes;

typedef int (*close_fn)(int);

long closecount(void) { return atomic_load(&g_closes); }

int close(int fd)
{
    static close_fn real_close;
    if (real_close == NULL)
        *(void **)&real_close = dlsym(RTLD_NEXT, "close");
    atomic_fetch_add(&g_closes, 1);
    return real_close(fd);
}
