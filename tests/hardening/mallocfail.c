/* SPDX-License-Identifier: MIT */
/*
 * Test-only malloc() interposer: linked into a test executable, its
 * malloc(), calloc() and realloc() come before the C library's in symbol
 * lookup (libstdc++'s operator new calls malloc() too), so one chosen
 * allocation of the library can be made to fail with ENOMEM. The real
 * allocator is reached through glibc's __libc_* entry points. Not for
 * valgrind, which replaces the allocator itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "mallocfail.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static atomic_long g_countdown = -1; /* allocations to let through; -1: disarmed */
static atomic_int g_fired;

static void mallocfail_child(void)
{
    atomic_store(&g_countdown, -1);
}

__attribute__((constructor)) static void mallocfail_init(void)
{
    pthread_atfork(NULL, NULL, mallocfail_child);
}

void mallocfail_arm(long skip)
{
    if (skip >= 0)
        atomic_store(&g_fired, 0);
    atomic_store(&g_countdown, skip < 0 ? -1 : skip);
}

int mallocfail_fired(void)
{
    return atomic_load(&g_fired);
}

/* Whether this allocation is the one to fail. */
static int take_failure(void)
{
    long n = atomic_load(&g_countdown);
    while (n >= 0) {
        if (atomic_compare_exchange_weak(&g_countdown, &n, n - 1)) {
            if (n != 0)
                return 0;
            atomic_store(&g_fired, 1);
            errno = ENOMEM;
            return 1;
        }
    }
    return 0;
}

void *malloc(size_t size)
{
    return take_failure() ? NULL : __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    return take_failure() ? NULL : __libc_calloc(count, size);
}

void *realloc(void *p, size_t size)
{
    return take_failure() ? NULL : __libc_realloc(p, size);
}
