/* SPDX-License-Identifier: MIT */
/* bench-spawn: the parent's sizes: written as 10M or 4 GiB, measured, and reached (see bench_spawn.c). */
#define _GNU_SOURCE
#include "bench_spawn_sizes.h"

#include <sys/mman.h>

#include "bench.h"

/* ---- the parent's resident memory ------------------------------------- */

/* Resident memory of this process, in bytes (0 when unknown). */
size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long total = 0, resident = 0;
    const int n = fscanf(f, "%lu %lu", &total, &resident);
    fclose(f);
    return n == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

void ballast_init(Ballast *ballast, const size_t *sizes, int nsizes)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t reached = resident_bytes();
    memset(ballast, 0, sizeof *ballast);
    ballast->steps = nsizes;
    for (int i = 0; i < nsizes; ++i) {
        const size_t step = sizes[i] > reached ? sizes[i] - reached : 0;
        ballast->size[i] = (step + page - 1) / page * page;
        reached += ballast->size[i];
    }
}

/* Maps or unmaps steps until the process is at size `level` (-1: bare). */
int ballast_set(Ballast *ballast, int level)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    while (ballast->mapped > level + 1) {
        const int i = --ballast->mapped;
        if (ballast->base[i] != NULL)
            munmap(ballast->base[i], ballast->size[i]);
        ballast->base[i] = NULL;
    }
    while (ballast->mapped < level + 1) {
        const int i = ballast->mapped;
        if (ballast->size[i] > 0) {
            void *base = mmap(NULL, ballast->size[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (base == MAP_FAILED) {
                fprintf(stderr, "bench-spawn: cannot map %zu MiB to make the process bigger: %s\n",
                        ballast->size[i] >> 20, strerror(errno));
                return -1;
            }
#ifdef MADV_NOHUGEPAGE
            madvise(base, ballast->size[i], MADV_NOHUGEPAGE);
#endif
            volatile unsigned char *bytes = base;
            for (size_t off = 0; off < ballast->size[i]; off += page)
                bytes[off] = (unsigned char)((off / page) | 1);
            ballast->base[i] = base;
        }
        ++ballast->mapped;
    }
    return 0;
}

/* ---- sizes on the command line and in the output ---------------------- */

/* "10M", "1G", "512K", "1048576": bytes, binary units. */
int parse_size(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    const unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || text[0] == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        ++end;
        break;
    case 'm':
    case 'M':
        shift = 20;
        ++end;
        break;
    case 'g':
    case 'G':
        shift = 30;
        ++end;
        break;
    default:
        break;
    }
    if (*end != '\0' || v == 0 || v > (~0ULL >> (shift + 1)))
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

void format_size(size_t bytes, char *out, size_t out_size)
{
    if (bytes >= (1ULL << 30) && bytes % (1ULL << 30) == 0)
        snprintf(out, out_size, "%zu GiB", bytes >> 30);
    else if (bytes >= (1ULL << 30))
        snprintf(out, out_size, "%.2f GiB", (double)bytes / (double)(1ULL << 30));
    else if (bytes >= (1ULL << 20))
        snprintf(out, out_size, "%.0f MiB", (double)bytes / (double)(1ULL << 20));
    else
        snprintf(out, out_size, "%.0f KiB", (double)bytes / 1024.0);
}

int cmp_size(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}
