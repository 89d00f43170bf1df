/* SPDX-License-Identifier: MIT */
/*
 * Benchmark 2: capture 256 MiB from a child into memory.
 *
 * Both sides fork the same child: it writes 256 MiB from a buffer prefilled
 * before the benchmark, with 1 MiB write() calls, then exits 0.
 *   ours:     procreact_initialize_future(procreact_create_bytes_type())
 *             + procreact_future_get()
 *   baseline: pipe() (default 64 KiB capacity, no F_SETPIPE_SZ), fork, and a
 *             read() loop straight into a 256 MiB buffer malloc'ed before the
 *             fork, then waitpid().
 *
 * Measured per round: wall time from before the fork to after the wait, and
 * the parent's own CPU time (getrusage(RUSAGE_SELF): user + system of this
 * process, children excluded).
 * Targets: baseline wall / ours wall >= 1.3; ours parent CPU <= baseline's.
 *
 * Environment: BENCH_ROUNDS (default 9), BENCH_MIB (default 256).
 */
#define _GNU_SOURCE
#include <procreact_future.h>
#include <procreact_types.h>

#include "bench.h"

enum { kChunk = 1 << 20 };

typedef struct {
    size_t total;
    const unsigned char *chunk; /* kChunk bytes, prefilled */
} Capture;

/* A cheap check that the bytes arrived in order: samples a few positions. */
static int looks_right(const unsigned char *data, size_t size, const Capture *c)
{
    if (size != c->total)
        return 0;
    for (size_t pos = 0; pos < size; pos += size / 61 + 1)
        if (data[pos] != c->chunk[pos % kChunk])
            return 0;
    return data[size - 1] == c->chunk[(size - 1) % kChunk];
}

static int ours_round(void *ctx)
{
    const Capture *c = ctx;
    ProcReact_Future future = procreact_initialize_future(procreact_create_bytes_type());
    if (future.pid == -1)
        return -1;
    if (future.pid == 0)
        bench_write_repeated(future.fd, c->chunk, kChunk, c->total);
    ProcReact_Status status;
    ProcReact_BytesState *bytes = procreact_future_get(&future, &status);
    if (bytes == NULL || status != PROCREACT_STATUS_OK)
        return -1;
    const int ok = looks_right(bytes->data, bytes->data_size, c);
    free(bytes->data);
    free(bytes);
    return ok ? 0 : -1;
}

static int baseline_round(void *ctx)
{
    const Capture *c = ctx;
    unsigned char *buffer = malloc(c->total);
    if (buffer == NULL)
        return -1;
    int fds[2];
    if (pipe(fds) != 0) {
        free(buffer);
        return -1;
    }
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(buffer);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        bench_write_repeated(fds[1], c->chunk, kChunk, c->total);
    }
    close(fds[1]);
    size_t size = 0;
    int failed = 0;
    while (size < c->total) {
        const ssize_t n = read(fds[0], buffer + size, c->total - size);
        if (n > 0)
            size += (size_t)n;
        else if (n == 0)
            break;
        else if (errno != EINTR) {
            failed = 1;
            break;
        }
    }
    close(fds[0]);
    const int exited_ok = bench_wait_ok(pid);
    const int ok = !failed && exited_ok && looks_right(buffer, size, c);
    free(buffer);
    return ok ? 0 : -1;
}

int main(void)
{
    const int rounds = (int)bench_env_long("BENCH_ROUNDS", 9);
    const long mib = bench_env_long("BENCH_MIB", 256);
    unsigned char *chunk = malloc(kChunk);
    if (chunk == NULL)
        return 1;
    /* Not a repeating short pattern, so that a misplaced chunk shows. */
    unsigned int x = 2463534242u;
    for (size_t i = 0; i < kChunk; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        chunk[i] = (unsigned char)x;
    }
    Capture c = {(size_t)mib << 20, chunk};
    BenchPair pair;

    printf("Benchmark 2: capture %ld MiB from a child (1 MiB writes) into memory\n", mib);
    printf("  ours: bytes type; baseline: read() loop into a preallocated buffer, 64 KiB pipe\n");
    printf("  %d rounds per side, alternating, medians shown; CPU = parent only (RUSAGE_SELF)\n", rounds);
    fflush(stdout);
    if (bench_alternate("capture", rounds, ours_round, &c, baseline_round, &c, &pair) != 0)
        return 1;

    const double ow = bench_median(pair.ours_wall, rounds), bw = bench_median(pair.base_wall, rounds);
    const double oc = bench_median(pair.ours_cpu, rounds), bc = bench_median(pair.base_cpu, rounds);
    const double mb = (double)c.total / (1024.0 * 1024.0);
    char label[64];

    printf("\n");
    bench_table_header();
    snprintf(label, sizeof label, "capture %ld MiB: wall", mib);
    bench_table_row(label, ow, bw, 1e3, "ms", "ratio <= 0.769 (1.3x)", ow * 1.3 <= bw ? "MET" : "MISSED");
    snprintf(label, sizeof label, "capture %ld MiB: parent CPU", mib);
    bench_table_row(label, oc, bc, 1e3, "ms", "ratio <= 1.0", oc <= bc ? "MET" : "MISSED");
    snprintf(label, sizeof label, "capture %ld MiB: child CPU", mib);
    bench_table_row(label, bench_median(pair.ours_child, rounds), bench_median(pair.base_child, rounds), 1e3, "ms",
                    "(info)", "");
    printf("%-38s %12s %12s %8.3f  %-22s %s\n", "capture: median of paired wall ratios", "", "",
           bench_paired_ratio(pair.ours_wall, pair.base_wall, rounds), "(info)", "");
    printf("%-38s %9.0f MB/s %9.0f MB/s   speed-up %.2fx\n", "capture throughput (MiB/s)", mb / ow, mb / bw, bw / ow);
    free(chunk);
    return 0;
}
