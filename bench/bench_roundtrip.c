/* SPDX-License-Identifier: MIT */
/*
 * Benchmark 1: a future's round trip.
 *
 * The child writes a short string and exits; the parent reads it and waits.
 *   ours:     procreact_initialize_future(procreact_create_string_type())
 *             + procreact_future_get()
 *   baseline: pipe() / fork() / write() / read() loop / waitpid(), written
 *             by hand the way a careful C program would, including the
 *             malloc'ed NUL-terminated copy that the string type returns.
 *
 * The cost is dominated by fork() and the scheduler; what we measure is what
 * the library adds on top (pidfd, close-on-exec pipe, atfork bookkeeping,
 * reading state). Target: ours / baseline <= 1.05 (median wall time).
 *
 * Environment: BENCH_ROUNDS (default 15), BENCH_ITERATIONS (default 2000).
 * BENCH_ONLY=ours or BENCH_ONLY=baseline runs one side alone, once, and
 * prints nothing: for counters of the parent's own (perf stat --no-inherit
 * -e page-faults), which alternating rounds would mix.
 */
#define _GNU_SOURCE
#include <procreact_future.h>
#include <procreact_types.h>

#include "bench.h"

static const char kMessage[] = "Hello procreact!";

typedef struct {
    long iterations;
} RoundTrip;

static int ours_round(void *ctx)
{
    const RoundTrip *rt = ctx;
    for (long i = 0; i < rt->iterations; ++i) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
        if (future.pid == -1)
            return -1;
        if (future.pid == 0) {
            const ssize_t n = write(future.fd, kMessage, sizeof kMessage - 1);
            _exit(n == (ssize_t)(sizeof kMessage - 1) ? 0 : 1);
        }
        ProcReact_Status status;
        char *result = procreact_future_get(&future, &status);
        const int ok = status == PROCREACT_STATUS_OK && result != NULL && strcmp(result, kMessage) == 0;
        free(result);
        if (!ok)
            return -1;
    }
    return 0;
}

static int baseline_round(void *ctx)
{
    const RoundTrip *rt = ctx;
    for (long i = 0; i < rt->iterations; ++i) {
        int fds[2];
        if (pipe(fds) != 0)
            return -1;
        const pid_t pid = fork();
        if (pid < 0) {
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
        if (pid == 0) {
            close(fds[0]);
            const ssize_t n = write(fds[1], kMessage, sizeof kMessage - 1);
            _exit(n == (ssize_t)(sizeof kMessage - 1) ? 0 : 1);
        }
        close(fds[1]);
        char buf[256];
        size_t len = 0;
        for (;;) {
            const ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
            if (n > 0) {
                len += (size_t)n;
                if (len == sizeof buf - 1)
                    break;
            } else if (n == 0 || errno != EINTR) {
                break;
            }
        }
        close(fds[0]);
        const int exited_ok = bench_wait_ok(pid);
        buf[len] = '\0';
        char *result = malloc(len + 1);
        if (result == NULL)
            return -1;
        memcpy(result, buf, len + 1);
        const int ok = exited_ok && strcmp(result, kMessage) == 0;
        free(result);
        if (!ok)
            return -1;
    }
    return 0;
}

int main(void)
{
    const int rounds = (int)bench_env_long("BENCH_ROUNDS", 15);
    RoundTrip rt = {bench_env_long("BENCH_ITERATIONS", 2000)};
    BenchPair pair;
    const char *only = getenv("BENCH_ONLY");

    if (only != NULL && strcmp(only, "ours") == 0)
        return ours_round(&rt) == 0 ? 0 : 1;
    if (only != NULL && strcmp(only, "baseline") == 0)
        return baseline_round(&rt) == 0 ? 0 : 1;
    if (only != NULL && only[0] != '\0') {
        fprintf(stderr, "BENCH_ONLY: 'ours' or 'baseline', not '%s'\n", only);
        return 2;
    }

    printf("Benchmark 1: future round trip (fork, child writes %zu bytes, parent reads and waits)\n",
           sizeof kMessage - 1);
    printf("  %ld round trips per round, %d rounds per side, alternating, medians shown\n", rt.iterations, rounds);
    fflush(stdout);
    if (bench_alternate("roundtrip", rounds, ours_round, &rt, baseline_round, &rt, &pair) != 0)
        return 1;

    const double ow = bench_median(pair.ours_wall, rounds), bw = bench_median(pair.base_wall, rounds);
    const double oc = bench_median(pair.ours_cpu, rounds), bc = bench_median(pair.base_cpu, rounds);
    const double per = 1e6 / (double)rt.iterations;
    const int met = ow <= bw * 1.05;

    printf("\n");
    bench_table_header();
    bench_table_row("round trip: wall per iteration", ow, bw, per, "us", "ratio <= 1.05", met ? "MET" : "MISSED");
    bench_table_row("round trip: parent CPU per iteration", oc, bc, per, "us", "(info)", "");
    bench_table_row("round trip: child CPU per iteration", bench_median(pair.ours_child, rounds),
                    bench_median(pair.base_child, rounds), per, "us", "(info)", "");
    bench_table_row("round trip: wall per round", ow, bw, 1e3, "ms", "(info)", "");
    printf("%-38s %12s %12s %8.3f  %-22s %s\n", "round trip: median of paired ratios", "", "",
           bench_paired_ratio(pair.ours_wall, pair.base_wall, rounds), "(info, wall)", "");
    printf("%-38s %12s %12s %8.3f  %-22s %s\n", "", "", "", bench_paired_ratio(pair.ours_cpu, pair.base_cpu, rounds),
           "(info, parent CPU)", "");
    return 0;
}
