/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the procreact benchmarks: clocks, medians, the
 * alternating-rounds driver and the result table.
 *
 * Every benchmark measures "ours" (the library) against a hand-written
 * baseline in the same process and the same run. Rounds alternate (A, B, A,
 * B, ...) so that noise from other work on the machine hits both sides
 * alike, and the table shows the median of each side. A warm-up pair of
 * rounds is run first and discarded.
 *
 * Header-only on purpose: static inline helpers that every file of a
 * benchmark includes, with no library of their own to build and link.
 */
#ifndef PROCREACT_BENCH_H
#define PROCREACT_BENCH_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_ROUNDS 64

/**
 * One measurement, in seconds: wall time, the parent's own CPU time, and the
 * CPU time of the children reaped meanwhile (shown for information only).
 */
typedef struct {
    double wall;
    double cpu;
    double child;
} BenchSample;

static inline double bench_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * User + system time of this process only. getrusage(RUSAGE_SELF) never
 * includes children (those are RUSAGE_CHILDREN), so a child's write() loop
 * does not count against the parent.
 */
static inline double bench_cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* User + system time of the children reaped so far (RUSAGE_CHILDREN). */
static inline double bench_child_cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int bench_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double bench_median(const double *values, int n)
{
    double sorted[BENCH_MAX_ROUNDS];
    if (n <= 0)
        return 0.0;
    memcpy(sorted, values, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, bench_cmp_double);
    return (n % 2 == 1) ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

/** A side of a comparison: runs one round, returns 0 on success. */
typedef int (*BenchRound)(void *ctx);

/** Both sides' samples after bench_alternate(). */
typedef struct {
    int rounds;
    double ours_wall[BENCH_MAX_ROUNDS], ours_cpu[BENCH_MAX_ROUNDS];
    double base_wall[BENCH_MAX_ROUNDS], base_cpu[BENCH_MAX_ROUNDS];
    double ours_child[BENCH_MAX_ROUNDS], base_child[BENCH_MAX_ROUNDS];
} BenchPair;

static inline int bench_measure(BenchRound round, void *ctx, BenchSample *out)
{
    const double k0 = bench_child_cpu_now();
    const double c0 = bench_cpu_now();
    const double w0 = bench_wall_now();
    const int rc = round(ctx);
    out->wall = bench_wall_now() - w0;
    out->cpu = bench_cpu_now() - c0;
    out->child = bench_child_cpu_now() - k0;
    return rc;
}

/*
 * Runs a warm-up pair, then `rounds` pairs. The side that goes first swaps
 * every pair (A B, B A, A B, ...), so neither side always follows the other.
 */
static inline int bench_alternate(const char *name, int rounds, BenchRound ours, void *ours_ctx, BenchRound base,
                                  void *base_ctx, BenchPair *pair)
{
    BenchSample s;
    if (rounds > BENCH_MAX_ROUNDS)
        rounds = BENCH_MAX_ROUNDS;
    pair->rounds = rounds;
    if (bench_measure(ours, ours_ctx, &s) != 0 || bench_measure(base, base_ctx, &s) != 0) {
        fprintf(stderr, "%s: warm-up round failed\n", name);
        return -1;
    }
    for (int i = 0; i < rounds; ++i) {
        BenchSample so, sb;
        int rc;
        if (i % 2 == 0)
            rc = bench_measure(ours, ours_ctx, &so) | bench_measure(base, base_ctx, &sb);
        else
            rc = bench_measure(base, base_ctx, &sb) | bench_measure(ours, ours_ctx, &so);
        if (rc != 0) {
            fprintf(stderr, "%s: round %d failed\n", name, i + 1);
            return -1;
        }
        pair->ours_wall[i] = so.wall;
        pair->ours_cpu[i] = so.cpu;
        pair->base_wall[i] = sb.wall;
        pair->base_cpu[i] = sb.cpu;
        pair->ours_child[i] = so.child;
        pair->base_child[i] = sb.child;
        fprintf(stderr, "  %s round %2d/%d: ours %.4f s (cpu %.4f)  baseline %.4f s (cpu %.4f)\n", name, i + 1,
                rounds, so.wall, so.cpu, sb.wall, sb.cpu);
    }
    return 0;
}

/** Reads an integer from the environment, or `fallback`. */
static inline long bench_env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return fallback;
    char *end;
    errno = 0;
    const long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n <= 0)
        return fallback;
    return n;
}

/*
 * The median over pairs of ours[i] / base[i]. Both rounds of a pair run
 * back to back, so a burst of load from elsewhere tends to hit both: this is
 * steadier than the ratio of the two medians when the machine is shared.
 */
static inline double bench_paired_ratio(const double *ours, const double *base, int n)
{
    double ratios[BENCH_MAX_ROUNDS];
    int k = 0;
    for (int i = 0; i < n; ++i)
        if (base[i] > 0.0)
            ratios[k++] = ours[i] / base[i];
    return bench_median(ratios, k);
}

static inline void bench_table_header(void)
{
    printf("%-38s %12s %12s %8s  %-22s %s\n", "benchmark / metric", "ours", "baseline", "ratio", "target", "verdict");
    printf("%-38s %12s %12s %8s  %-22s %s\n", "--------------------------------------", "------------",
           "------------", "--------", "----------------------", "-------");
}

/* One table row. `unit_scale` turns seconds into the unit shown in `unit`. */
static inline void bench_table_row(const char *label, double ours, double base, double unit_scale, const char *unit,
                                   const char *target, const char *verdict)
{
    char o[32], b[32], r[16];
    snprintf(o, sizeof o, "%.3f %s", ours * unit_scale, unit);
    snprintf(b, sizeof b, "%.3f %s", base * unit_scale, unit);
    if (base > 0.0)
        snprintf(r, sizeof r, "%.3f", ours / base);
    else
        snprintf(r, sizeof r, "-");
    printf("%-38s %12s %12s %8s  %-22s %s\n", label, o, b, r, target, verdict);
}

/* Waits for one specific child; true when it exited with code 0. */
static inline int bench_wait_ok(pid_t pid)
{
    int wstatus;
    pid_t r;
    do
        r = waitpid(pid, &wstatus, 0);
    while (r < 0 && errno == EINTR);
    return r == pid && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
}

/* The child of the capture and split benchmarks: writes @p total bytes to
 * @p fd by repeating @p chunk (@p chunk_size bytes), then ends with _exit(0)
 * (1 on a write error). Both sides of a benchmark use it, so they are fed
 * alike. */
static inline void bench_write_repeated(int fd, const void *chunk, size_t chunk_size, size_t total)
{
    size_t left = total;
    while (left > 0) {
        const size_t want = left < chunk_size ? left : chunk_size;
        const ssize_t n = write(fd, chunk, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        left -= (size_t)n;
    }
    _exit(0);
}

/* ---- leak checks and argument parsing (bench-spawn, bench-spawn-many) ---- */

/* Open descriptors of this process, or -1 when /proc is not there. */
static inline int bench_count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int count = 0;
    const struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            ++count;
    closedir(dir);
    return count - 1; /* the directory's own descriptor */
}

/* True when this process has no child at all, running or zombie. */
static inline int bench_no_children_left(void)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD;
}

/* A whole decimal number in [min, max]; 0, or -1 for anything else. */
static inline int bench_parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    const long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/*
 * Matches `--name VALUE` and `--name=VALUE` at argv[*i]. Returns 1 and sets
 * *value (advancing *i past a separate value; "" when it is missing), or 0
 * when argv[*i] is another argument.
 */
static inline int bench_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    const size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return 1;
    }
    if (arg[len] != '\0')
        return 0;
    *value = *i + 1 < argc ? argv[++*i] : "";
    return 1;
}

/*
 * The command line of a program that takes `[--rounds N] [--json FILE]`:
 * 0, or 2 after printing the usage.
 */
static inline int bench_rounds_json_args(int argc, char **argv, long *rounds, const char **json)
{
    for (int i = 1; i < argc; ++i) {
        const char *v;
        if (bench_option(argc, argv, &i, "--rounds", &v) && bench_parse_long(v, 1, BENCH_MAX_ROUNDS, rounds) == 0)
            continue;
        if (bench_option(argc, argv, &i, "--json", &v)) {
            *json = v;
            continue;
        }
        fprintf(stderr, "usage: %s [--rounds N] [--json FILE]\n", argv[0]);
        return 2;
    }
    return 0;
}

#endif /* PROCREACT_BENCH_H */
