/* SPDX-License-Identifier: MIT */
/* bench-spawn: the parent's sizes (bench_spawn_sizes.c): written as 10M or 4 GiB, measured, and reached. */
#ifndef PROCREACT_BENCH_SPAWN_SIZES_H
#define PROCREACT_BENCH_SPAWN_SIZES_H

#include <stddef.h>

enum { kMaxSizes = 8 };

/*
 * The memory that brings the process to each size: one mapping per step
 * from one size to the next, so that going down a size unmaps whole
 * mappings and frees their page tables too (fork() would still walk empty
 * page tables left behind by MADV_DONTNEED). Every page is a private 4 KiB
 * page with one byte written, so each has a page table entry that fork()
 * must copy (huge pages are declined: one would stand for 512 entries).
 */
typedef struct {
    int steps;
    void *base[kMaxSizes];
    size_t size[kMaxSizes]; /* step i: from size i-1 (or the bare process) to size i */
    int mapped;             /* steps [0, mapped) are mapped and written */
} Ballast;

/* Resident memory of this process, in bytes (0 when unknown). */
size_t resident_bytes(void);

void ballast_init(Ballast *ballast, const size_t *sizes, int nsizes);
/* Maps or unmaps steps until the process is at size `level` (-1: bare). */
int ballast_set(Ballast *ballast, int level);

/* "10M", "1G", "512K", "1048576": bytes, binary units. */
int parse_size(const char *text, size_t *out);
void format_size(size_t bytes, char *out, size_t out_size);
/* For qsort(): smallest first. */
int cmp_size(const void *a, const void *b);

#endif /* PROCREACT_BENCH_SPAWN_SIZES_H */
