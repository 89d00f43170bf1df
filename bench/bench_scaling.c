/* SPDX-License-Identifier: MIT */
/*
 * Benchmark 4: the cost of spawning as the number of children in flight grows.
 *
 * N children are started and kept alive: each blocks on a shared "gate" pipe
 * whose write end only the parent keeps (every child closes its inherited
 * copy right after fork()), so all N are in flight at once. Only the
 * spawning of the N is timed; then the parent closes the gate, every child
 * sees end of file, finishes, and all are collected (not timed).
 *
 *   futures:   N x procreact_initialize_future(procreact_create_string_type());
 *              the child writes one byte and _exit(0)s; collected with
 *              procreact_future_get().
 *   pids:      a pid iterator whose next() forks a child that waits on the
 *              gate and _exit(0)s; timed around
 *              `while (procreact_spawn_next_pid(&it));`, completed with
 *              procreact_fork_in_parallel_and_wait().
 *   hand loop: pipe2(O_CLOEXEC) + fork() by hand; the parent closes the
 *              write end and keeps the read end, so it holds N descriptors
 *              as the futures do; then read() and waitpid() each.
 *
 * A fork handler that visits every descriptor the library holds makes each
 * spawn cost O(children in flight), and spawning N children O(N^2). The hand
 * loop shows what fork() itself costs with that many descriptors and
 * processes around. Target: the per-child cost at the largest N (4000) is
 * within 1.5x of that at the smallest (500), for futures and for pids.
 *
 * Usage: bench-scaling [--rounds R] [N ...]   (default: 5 rounds; 500 1000
 * 2000 4000). BENCH_ROUNDS sets the default number of rounds. Each round
 * runs every N in turn, and at each N the three kinds, in reverse order
 * every other round. One warm-up round at the smallest N is discarded.
 *
 * This file has the command line, the limits, the rounds and the report;
 * bench_scaling_kinds.c the gate and the three kinds.
 */
#define _GNU_SOURCE
#include <dirent.h>

#include "bench.h"
#include "bench_json.h"
#include "bench_scaling_kinds.h"

enum { kMaxSizes = 16, kDefaultRounds = 5, kMaxChildren = 100000 };

static const long kDefaultSizes[] = {500, 1000, 2000, 4000};
static const double kTargetGrowth = 1.5;

static const char *const kKindName[KIND_COUNT] = {"futures", "pids", "hand loop"};
static const char *const kKindKey[KIND_COUNT] = {"futures", "pids", "hand"}; /* in the results file */

/* ---- setup and checks ------------------------------------------------- */

/*
 * The futures hold two descriptors per child (the pipe's read end and a
 * process descriptor), so N in flight need more than 2N: the soft
 * RLIMIT_NOFILE is raised to the hard one. RLIMIT_NPROC counts every process
 * of the user; root is not held to it.
 */
static int raise_limits(long max_n)
{
    struct rlimit rl;
    const rlim_t want_files = (rlim_t)(2 * max_n + 64);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "bench-scaling: getrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
        return -1;
    }
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "bench-scaling: cannot raise RLIMIT_NOFILE to %llu: %s\n", (unsigned long long)rl.rlim_max,
                    strerror(errno));
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want_files) {
        fprintf(stderr,
                "bench-scaling: %ld children in flight need about %llu descriptors, but RLIMIT_NOFILE is %llu\n"
                "  (raise the hard limit, e.g. `ulimit -Hn %llu` as root, or use smaller sizes)\n",
                max_n, (unsigned long long)want_files, (unsigned long long)rl.rlim_cur, (unsigned long long)want_files);
        return -1;
    }

    if (geteuid() == 0)
        return 0;
    const rlim_t want_procs = (rlim_t)(max_n + 256);
    if (getrlimit(RLIMIT_NPROC, &rl) != 0) {
        fprintf(stderr, "bench-scaling: getrlimit(RLIMIT_NPROC): %s\n", strerror(errno));
        return -1;
    }
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NPROC, &rl);
        getrlimit(RLIMIT_NPROC, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want_procs) {
        fprintf(stderr,
                "bench-scaling: %ld children in flight need RLIMIT_NPROC of at least about %llu (processes of\n"
                "  this user), but it is %llu (raise it with `ulimit -u`, run as root, or use smaller sizes)\n",
                max_n, (unsigned long long)want_procs, (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: bench-scaling [--rounds R] [N ...]\n"
            "  N: children in flight (default 500 1000 2000 4000), R: rounds (default 5, at most %d)\n",
            BENCH_MAX_ROUNDS);
}

static int cmp_long(const void *a, const void *b)
{
    const long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* One table row: per-child medians in seconds; base < 0 for the baseline's own row. */
static void scaling_row(long n, Kind kind, double value, double base, double growth, const char *target,
                        const char *verdict)
{
    char label[48], o[32], b[32], r[16], g[16];
    snprintf(label, sizeof label, "%ld in flight: %s", n, kKindName[kind]);
    if (kind == KIND_HAND) {
        snprintf(o, sizeof o, "-");
        snprintf(b, sizeof b, "%.3f us", value * 1e6);
        snprintf(r, sizeof r, "-");
    } else {
        snprintf(o, sizeof o, "%.3f us", value * 1e6);
        snprintf(b, sizeof b, "%.3f us", base * 1e6);
        if (base > 0.0)
            snprintf(r, sizeof r, "%.3f", value / base);
        else
            snprintf(r, sizeof r, "-");
    }
    snprintf(g, sizeof g, "%.2fx", growth);
    printf("%-28s %12s %12s %8s %8s  %-18s %s\n", label, o, b, r, g, target, verdict);
}

/* RESULTS/scaling-<time>.json: per kind, every round's cost per child (us) and the medians. */
static int write_results(const long *sizes, int nsizes, long rounds,
                         double (*per_child)[kMaxSizes][BENCH_MAX_ROUNDS], double (*median)[kMaxSizes])
{
    char path[4096];
    FILE *f = bench_json_open("scaling", path, sizeof path);
    if (f == NULL)
        return -1;
    fprintf(f, ",\n\"rounds\": %ld,\n\"sizes\": [", rounds);
    for (int s = 0; s < nsizes; ++s)
        fprintf(f, "%s%ld", s ? ", " : "", sizes[s]);
    fputs("],\n\"kinds\": {", f);
    for (int k = 0; k < KIND_COUNT; ++k)
        bench_json_row(f, k == 0, kKindKey[k], kKindName[k], median[k], per_child[k], nsizes, rounds);
    fputs("}", f);
    return bench_json_close(f, "scaling", path);
}

int main(int argc, char **argv)
{
    long rounds = bench_env_long("BENCH_ROUNDS", kDefaultRounds);
    long sizes[kMaxSizes];
    int nsizes = 0;
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(arg, "--rounds") == 0 || strncmp(arg, "--rounds=", 9) == 0) {
            const char *value = arg[8] == '=' ? arg + 9 : (i + 1 < argc ? argv[++i] : "");
            if (bench_parse_long(value, 1, BENCH_MAX_ROUNDS, &rounds) != 0) {
                fprintf(stderr, "bench-scaling: --rounds wants a number from 1 to %d\n", BENCH_MAX_ROUNDS);
                return 2;
            }
            continue;
        }
        if (nsizes == kMaxSizes || bench_parse_long(arg, 1, kMaxChildren, &sizes[nsizes]) != 0) {
            fprintf(stderr, "bench-scaling: bad argument '%s' (at most %d sizes, each 1 to %d)\n", arg, kMaxSizes,
                    kMaxChildren);
            usage(stderr);
            return 2;
        }
        ++nsizes;
    }
    if (nsizes == 0) {
        nsizes = (int)(sizeof kDefaultSizes / sizeof kDefaultSizes[0]);
        memcpy(sizes, kDefaultSizes, sizeof kDefaultSizes);
    }
    if (rounds > BENCH_MAX_ROUNDS)
        rounds = BENCH_MAX_ROUNDS;
    qsort(sizes, (size_t)nsizes, sizeof sizes[0], cmp_long);
    const long min_n = sizes[0], max_n = sizes[nsizes - 1];

    if (raise_limits(max_n) != 0)
        return 1;
    Slots slots = {calloc((size_t)max_n, sizeof(ProcReact_Future)), calloc((size_t)max_n, sizeof(pid_t)),
                   calloc((size_t)max_n, sizeof(int))};
    if (slots.futures == NULL || slots.pids == NULL || slots.fds == NULL) {
        fprintf(stderr, "bench-scaling: out of memory\n");
        return 1;
    }
    const int fds_at_start = bench_count_open_fds();

    printf("Benchmark 4: spawn cost as the number of children in flight grows\n");
    printf("  N children started and kept waiting on a gate pipe; only the N spawns are timed\n");
    printf("  ours: futures (string type) and a pid iterator; baseline: pipe2() + fork() by hand\n");
    printf("  sizes:");
    for (int s = 0; s < nsizes; ++s)
        printf(" %ld", sizes[s]);
    printf("; %ld rounds, kinds alternating, medians shown\n", rounds);
    fflush(stdout);

    static double per_child[KIND_COUNT][kMaxSizes][BENCH_MAX_ROUNDS];
    double seconds;
    for (int k = 0; k < KIND_COUNT; ++k)
        if (run_kind((Kind)k, &slots, min_n, &seconds) != 0) {
            fprintf(stderr, "bench-scaling: warm-up round failed\n");
            return 1;
        }
    for (long round = 0; round < rounds; ++round) {
        for (int s = 0; s < nsizes; ++s) {
            for (int step = 0; step < KIND_COUNT; ++step) {
                const Kind kind = (Kind)(round % 2 == 0 ? step : KIND_COUNT - 1 - step);
                if (run_kind(kind, &slots, sizes[s], &seconds) != 0) {
                    fprintf(stderr, "bench-scaling: round %ld failed (%s, N=%ld)\n", round + 1, kKindName[kind],
                            sizes[s]);
                    return 1;
                }
                per_child[kind][s][round] = seconds / (double)sizes[s];
            }
            fprintf(stderr, "  scaling round %2ld/%ld N=%5ld: futures %9.3f us  pids %9.3f us  hand %9.3f us\n",
                    round + 1, rounds, sizes[s], per_child[KIND_FUTURES][s][round] * 1e6,
                    per_child[KIND_PIDS][s][round] * 1e6, per_child[KIND_HAND][s][round] * 1e6);
        }
    }

    double median[KIND_COUNT][kMaxSizes];
    for (int k = 0; k < KIND_COUNT; ++k)
        for (int s = 0; s < nsizes; ++s)
            median[k][s] = bench_median(per_child[k][s], (int)rounds);

    printf("\n");
    printf("%-28s %12s %12s %8s %8s  %-18s %s\n", "spawn cost per child", "ours", "hand loop", "ratio", "growth",
           "target", "verdict");
    printf("%-28s %12s %12s %8s %8s  %-18s %s\n", "----------------------------", "------------", "------------",
           "--------", "--------", "------------------", "-------");
    double growth_at_max[KIND_COUNT];
    for (int s = 0; s < nsizes; ++s) {
        const int last = s == nsizes - 1 && nsizes > 1;
        for (int k = 0; k < KIND_COUNT; ++k) {
            const double growth = median[k][0] > 0.0 ? median[k][s] / median[k][0] : 0.0;
            growth_at_max[k] = growth;
            if (k == KIND_HAND)
                scaling_row(sizes[s], (Kind)k, median[k][s], -1.0, growth, "(baseline)", "");
            else if (last)
                scaling_row(sizes[s], (Kind)k, median[k][s], median[KIND_HAND][s], growth, "growth <= 1.5",
                            growth <= kTargetGrowth ? "MET" : "MISSED");
            else
                scaling_row(sizes[s], (Kind)k, median[k][s], median[KIND_HAND][s], growth, "(info)", "");
        }
    }
    printf("\n");
    for (int k = 0; k < KIND_COUNT; ++k)
        printf("%s: per-child cost at %ld is %.2fx that at %ld (%s)\n", kKindName[k], max_n, growth_at_max[k], min_n,
               k == KIND_HAND ? "baseline, no target" : "target <= 1.5");

    if (write_results(sizes, nsizes, rounds, per_child, median) != 0)
        return 1;
    free(slots.futures);
    free(slots.pids);
    free(slots.fds);
    const int fds_at_end = bench_count_open_fds();
    if (!bench_no_children_left() || fds_at_end != fds_at_start) {
        fprintf(stderr, "bench-scaling: left behind: %s, %d descriptors open (%d at start)\n",
                bench_no_children_left() ? "no child" : "children", fds_at_end, fds_at_start);
        return 1;
    }
    return 0;
}
