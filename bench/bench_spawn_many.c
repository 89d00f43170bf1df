/* SPDX-License-Identifier: MIT */
/*
 * Benchmark 6: many short programs, a few at a time.
 *
 * 2,000 runs of /bin/true with at most 8 running at once, four ways:
 *   ours (capture): a future iterator whose next() returns
 *              procreact_command_spawn(command, string type), standard
 *              output captured (a pipe per program, the realistic case);
 *              complete() checks and frees the result; driven by
 *              procreact_fork_buffer_and_wait_in_parallel_limit(&it, 8);
 *   ours (discard): the same with standard output to /dev/null (no pipe);
 *   hand:      posix_spawn() + waitpid(-1) by hand: start 8, then start one
 *              more for every one reaped (this process has no other child);
 *   GLib:      8 threads, each calling g_spawn_sync() of /bin/true in a loop,
 *              sharing an atomic counter until 2,000 have run; standard
 *              output and error to /dev/null (G_SPAWN_STDOUT_TO_DEV_NULL |
 *              G_SPAWN_STDERR_TO_DEV_NULL), nothing captured.
 *
 * Per round and kind: the wall time for all of them, and the parent's own
 * CPU time (getrusage(RUSAGE_SELF), every thread, children excluded).
 * A pthread_atfork() handler counts fork() calls, so the output says
 * whether GLib forked or used posix_spawn() (which runs no fork handler).
 * No target: the ratios are for information.
 *
 * Usage: bench-spawn-many [--rounds R] [--count N] [--limit L]
 *   (default 5 rounds; BENCH_ROUNDS; 2000 programs; 8 at once). Every round
 *   runs N programs of each of the four kinds in 5 blocks of N/5, the kinds
 *   taking turns block by block (in reverse order every other block), after
 *   a discarded warm-up of at most 200 programs each. A kind's wall and CPU
 *   times for a round are the sums over its blocks.
 *
 * This file has the command line, the rounds, the fork count and the
 * report; bench_spawn_many_kinds.c the four kinds and their failures.
 */
#define _GNU_SOURCE
#include <procreact_spawn.h>

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"
#include "bench_spawn_many_kinds.h"

enum { kDefaultRounds = 5, kDefaultCount = 2000, kDefaultLimit = 8, kMaxCount = 10000000 };
enum { kWarmUpCount = 200 };
/*
 * A round's programs of a kind run in this many blocks, the kinds taking
 * turns block by block, so that a burst of load from elsewhere (seconds
 * long on the shared machine) hits all kinds alike rather than the one that
 * happened to run then. Each block ends with fewer than `limit` running, a
 * few percent of its time, alike for every kind.
 */
enum { kBlocks = 5 };

static const char *const kKindName[KIND_COUNT] = {"ours (capture)", "ours (discard)", "hand posix_spawn",
                                                  "GLib g_spawn_sync"};

/* fork() calls in this process, counted by a pthread_atfork() parent handler. */
static atomic_long g_forks;

static void count_fork(void)
{
    atomic_fetch_add_explicit(&g_forks, 1, memory_order_relaxed);
}

/* ---- the driver -------------------------------------------------------- */

typedef struct {
    BenchSample sample;
    long forks;
} KindSample;

/* Runs one kind once and says why, when it fails. */
static int measure(Job *job, KindSample *out)
{
    fflush(stdout); /* nothing buffered for a forked child to inherit */
    fflush(stderr);
    g_failures.failures = 0;
    g_failures.first[0] = '\0';
    const long forks0 = atomic_load(&g_forks);
    const int rc = bench_measure(run_job, job, &out->sample);
    out->forks = atomic_load(&g_forks) - forks0;
    if (rc != 0 || g_failures.failures != 0) {
        fprintf(stderr, "bench-spawn-many: %s: %ld of %ld programs failed; the first: %s\n", kKindName[job->kind],
                g_failures.failures, job->count, g_failures.failures != 0 ? g_failures.first : "(no detail)");
        return -1;
    }
    return 0;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: bench-spawn-many [--rounds R] [--count N] [--limit L]\n"
            "  R: rounds (default %d, at most %d), N: programs per round and kind (default %d),\n"
            "  L: programs running at once, and GLib threads (default %d, at most %d)\n",
            kDefaultRounds, BENCH_MAX_ROUNDS, kDefaultCount, kDefaultLimit, kMaxLimit);
}

int main(int argc, char **argv)
{
    long rounds = bench_env_long("BENCH_ROUNDS", kDefaultRounds);
    long count = kDefaultCount, limit = kDefaultLimit;
    for (int i = 1; i < argc; ++i) {
        const char *value;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (bench_option(argc, argv, &i, "--rounds", &value)) {
            if (bench_parse_long(value, 1, BENCH_MAX_ROUNDS, &rounds) != 0) {
                fprintf(stderr, "bench-spawn-many: --rounds wants a number from 1 to %d\n", BENCH_MAX_ROUNDS);
                return 2;
            }
        } else if (bench_option(argc, argv, &i, "--count", &value)) {
            if (bench_parse_long(value, 1, kMaxCount, &count) != 0) {
                fprintf(stderr, "bench-spawn-many: --count wants a number from 1 to %d\n", kMaxCount);
                return 2;
            }
        } else if (bench_option(argc, argv, &i, "--limit", &value)) {
            if (bench_parse_long(value, 1, kMaxLimit, &limit) != 0) {
                fprintf(stderr, "bench-spawn-many: --limit wants a number from 1 to %d\n", kMaxLimit);
                return 2;
            }
        } else {
            fprintf(stderr, "bench-spawn-many: bad argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (rounds > BENCH_MAX_ROUNDS)
        rounds = BENCH_MAX_ROUNDS;
    if (access(kProgram, X_OK) != 0) {
        fprintf(stderr, "bench-spawn-many: %s is not executable: %s\n", kProgram, strerror(errno));
        return 1;
    }
    const int fds_at_start = bench_count_open_fds();
    if (pthread_atfork(NULL, count_fork, NULL) != 0) {
        fprintf(stderr, "bench-spawn-many: pthread_atfork failed\n");
        return 1;
    }

    const char *const command_argv[] = {kProgram, NULL};
    ProcReact_Command *capture = procreact_command_new(command_argv);
    ProcReact_Command *discard = procreact_command_new(command_argv);
    if (capture == NULL || discard == NULL ||
        procreact_command_set_stdout(capture, PROCREACT_OUTPUT_CAPTURE, -1) != 0 ||
        procreact_command_set_stdout(discard, PROCREACT_OUTPUT_DISCARD, -1) != 0) {
        fprintf(stderr, "bench-spawn-many: cannot make the commands: %s\n", strerror(errno));
        return 1;
    }

    printf("Benchmark 6: %ld x %s with at most %ld running at once\n", count, kProgram, limit);
    printf("  ours: a future iterator of procreact_command_spawn() (stdout captured; discarded),\n");
    printf("        procreact_fork_buffer_and_wait_in_parallel_limit(&it, %ld)\n", limit);
    printf("  hand: posix_spawn() + waitpid(-1), %ld in flight; GLib: %ld threads of g_spawn_sync()\n", limit, limit);
    printf("  GLib %u.%u.%u; %ld rounds, kinds taking turns in %d blocks per round, medians shown\n",
           glib_major_version, glib_minor_version, glib_micro_version, rounds, (int)kBlocks);
    fflush(stdout);

    Job job = {KIND_CAPTURE, count < kWarmUpCount ? count : kWarmUpCount, (unsigned)limit, capture, discard};
    KindSample sample;
    for (int k = 0; k < KIND_COUNT; ++k) {
        job.kind = (Kind)k;
        if (measure(&job, &sample) != 0) {
            fprintf(stderr, "bench-spawn-many: warm-up failed\n");
            return 1;
        }
    }

    static double wall[KIND_COUNT][BENCH_MAX_ROUNDS], cpu[KIND_COUNT][BENCH_MAX_ROUNDS],
        child[KIND_COUNT][BENCH_MAX_ROUNDS];
    long forks[KIND_COUNT] = {0};
    for (long round = 0; round < rounds; ++round) {
        for (int block = 0; block < kBlocks; ++block) {
            job.count = count * (block + 1) / kBlocks - count * block / kBlocks;
            if (job.count == 0)
                continue;
            for (int step = 0; step < KIND_COUNT; ++step) {
                job.kind = (Kind)((round + block) % 2 == 0 ? step : KIND_COUNT - 1 - step);
                if (measure(&job, &sample) != 0) {
                    fprintf(stderr, "bench-spawn-many: round %ld failed (%s)\n", round + 1, kKindName[job.kind]);
                    return 1;
                }
                wall[job.kind][round] += sample.sample.wall;
                cpu[job.kind][round] += sample.sample.cpu;
                child[job.kind][round] += sample.sample.child;
                forks[job.kind] += sample.forks;
            }
        }
        fprintf(stderr, "  spawn-many round %ld/%ld:", round + 1, rounds);
        for (int k = 0; k < KIND_COUNT; ++k)
            fprintf(stderr, " %s %.3f s (cpu %.3f)%s", kKindName[k], wall[k][round], cpu[k][round],
                    k + 1 < KIND_COUNT ? "," : "\n");
    }

    const int n = (int)rounds;
    double mw[KIND_COUNT], mc[KIND_COUNT], mk[KIND_COUNT];
    for (int k = 0; k < KIND_COUNT; ++k) {
        mw[k] = bench_median(wall[k], n);
        mc[k] = bench_median(cpu[k], n);
        mk[k] = bench_median(child[k], n);
    }
    const double per = 1e6 / (double)count;

    printf("\n");
    printf("%-20s %12s %12s %16s %16s %10s\n", "kind", "wall", "programs/s", "parent CPU/prog", "child CPU/prog",
           "forks/prog");
    printf("%-20s %12s %12s %16s %16s %10s\n", "--------------------", "------------", "------------",
           "----------------", "----------------", "----------");
    for (int k = 0; k < KIND_COUNT; ++k) {
        char w[32], t[32], c[32], ch[32], f[16];
        snprintf(w, sizeof w, "%.3f s", mw[k]);
        snprintf(t, sizeof t, "%.0f", mw[k] > 0.0 ? (double)count / mw[k] : 0.0);
        snprintf(c, sizeof c, "%.1f us", mc[k] * per);
        snprintf(ch, sizeof ch, "%.1f us", mk[k] * per);
        snprintf(f, sizeof f, "%.2f", (double)forks[k] / ((double)count * (double)rounds));
        printf("%-20s %12s %12s %16s %16s %10s\n", kKindName[k], w, t, c, ch, f);
    }

    printf("\n");
    bench_table_header();
    static const struct {
        Kind ours, base;
        const char *name;
    } kPairs[] = {{KIND_CAPTURE, KIND_HAND, "capture / hand"},
                  {KIND_CAPTURE, KIND_GLIB, "capture / GLib"},
                  {KIND_DISCARD, KIND_HAND, "discard / hand"},
                  {KIND_DISCARD, KIND_GLIB, "discard / GLib"}};
    for (size_t p = 0; p < sizeof kPairs / sizeof kPairs[0]; ++p) {
        const Kind o = kPairs[p].ours, b = kPairs[p].base;
        char label[64];
        snprintf(label, sizeof label, "%s: wall for %ld", kPairs[p].name, count);
        bench_table_row(label, mw[o], mw[b], 1.0, "s", "(info)", "");
        snprintf(label, sizeof label, "%s: parent CPU per program", kPairs[p].name);
        bench_table_row(label, mc[o], mc[b], per, "us", "(info)", "");
        printf("%-38s %12s %12s %8.3f  %-22s %s\n", "", "", "", bench_paired_ratio(wall[o], wall[b], n),
               "(median paired, wall)", "");
    }

    const double glib_forks = (double)forks[KIND_GLIB] / ((double)count * (double)rounds);
    printf("\nGLib %u.%u.%u %s here (fork handler calls per program: %.2f); ours made %ld fork() calls.\n",
           glib_major_version, glib_minor_version, glib_micro_version,
           glib_forks >= 0.99
               ? "used fork()"
               : (glib_forks < 0.01 ? "used posix_spawn() (no fork handler ran)" : "forked for some programs only"),
           glib_forks, forks[KIND_CAPTURE] + forks[KIND_DISCARD]);

    procreact_command_free(capture);
    procreact_command_free(discard);
    const int fds_at_end = bench_count_open_fds();
    if (!bench_no_children_left() || fds_at_end != fds_at_start) {
        fprintf(stderr, "bench-spawn-many: left behind: %s, %d descriptors open (%d at start)\n",
                bench_no_children_left() ? "no child" : "children", fds_at_end, fds_at_start);
        return 1;
    }
    return 0;
}
