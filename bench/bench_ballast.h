/* SPDX-License-Identifier: MIT */
/*
 * The large parent of spawn-loop and spawn-iter (--rss MIB): an anonymous
 * mapping with one byte written in every page, then a wait of SETTLE
 * seconds before anything is measured.
 *
 * Why the wait: on the machine of record, the first minute-fraction after a
 * process first touches 2 GiB is not a steady state. Spawning right after
 * it took 1.04-1.19 s of wall for 2,000 programs against 0.84-0.92 s after
 * waiting 3 s (and 0.91-0.96 s from a parent of 50 MiB), for the same
 * whole-tree CPU: something outside the process (the hypervisor backing
 * the new pages, the kernel's DAMON proactive reclaim scanning them) held
 * the CPUs meanwhile. A parent that is large for real has been large for
 * a while; the Python rows, whose parent is made once for all rows, wait
 * as long (bench-throughput).
 */
#ifndef PROCREACT_BENCH_BALLAST_H
#define PROCREACT_BENCH_BALLAST_H

#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#define BALLAST_SETTLE_S 3

/* Makes the process about @p mib MiB larger and resident, then waits
 * BALLAST_SETTLE_S seconds. Returns 0, or -1 (reported on stderr as
 * @p who). The mapping stays until the process exits. */
static inline int ballast_make(long mib, const char *who)
{
    if (mib <= 0)
        return 0;
    const size_t size = (size_t)mib << 20;
    char *ballast = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ballast == MAP_FAILED) {
        fprintf(stderr, "%s: mmap of %ld MiB: ", who, mib);
        perror(NULL);
        return -1;
    }
    for (size_t i = 0; i < size; i += 4096)
        ballast[i] = 1;
    struct timespec settle = {BALLAST_SETTLE_S, 0};
    while (nanosleep(&settle, &settle) != 0) {
    }
    return 0;
}

#endif
