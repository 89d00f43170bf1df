/* SPDX-License-Identifier: MIT */
/*
 * Benchmark 5: spawning a program from a small and from a big parent.
 *
 * One /bin/true at a time, spawned and waited for, from a parent whose
 * resident memory is brought to each size in turn (default 10 MiB, 1 GiB,
 * 4 GiB: an anonymous mapping, 4 KiB pages, every page written).
 *
 *   ours, spawn (discard): procreact_command_spawn() of a command made once,
 *              standard output to /dev/null (no pipe), string type, then
 *              procreact_future_get();
 *   ours, spawn (capture): the same with standard output captured (a pipe);
 *   ours, forked future:   procreact_initialize_future(string type), the
 *              child execl()s /bin/true (the 0.1 way), procreact_future_get();
 *   hand, fork+execve:     fork(), execve() in the child, waitpid();
 *   hand, posix_spawn:     posix_spawn() with no file actions and no
 *              attributes, waitpid(): the baseline.
 *
 * fork() copies the parent's page tables, so its cost grows with the
 * parent's resident memory; posix_spawn() (glibc: clone(CLONE_VM |
 * CLONE_VFORK)) shares the parent's memory until the exec and does not.
 * Targets: ours (discard) at the largest size within 1.5x of ours at the
 * smallest; ours (discard) within 1.1x of the posix_spawn loop at every size.
 *
 * Usage: bench-spawn [--rounds R] [--count N] [SIZE ...]
 *   SIZE: resident memory of the parent, with K, M or G (binary units);
 *   default 10M 1G 4G. R rounds (default 7; BENCH_ROUNDS) of N spawns per
 *   row (default 200). Every round visits every size, largest first and
 *   smallest first in turn, after a discarded warm-up at each; at a size
 *   the rows take turns in 10 blocks of N/10 spawns, in reverse order
 *   every other block. The two fork rows run fewer spawns per round where
 *   a fork is slow, so that each of them takes about 2 s at a size, all
 *   rounds together (but at least 2 spawns per round); the output says how
 *   many and how long.
 *
 * This file has the command line, the rounds and the report;
 * bench_spawn_rows.c the five rows, bench_spawn_sizes.c the parent's sizes
 * (parsed, shown, and reached by mapping memory).
 */
#define _GNU_SOURCE
#include <procreact_spawn.h>

#include "bench.h"
#include "bench_json.h"
#include "bench_spawn_rows.h"
#include "bench_spawn_sizes.h"

enum { kDefaultRounds = 7, kDefaultCount = 200, kMaxCount = 1000000 };
enum { kWarmUpCount = 20, kForkWarmUpCount = 2, kMinForkCount = 2 };
/* A round's spawns of a row at a size are run in this many blocks, the rows
 * taking turns block by block, so that a burst of load from elsewhere hits
 * all rows alike rather than the one that happened to run then. */
enum { kBlocks = 10 };

/* Seconds that one fork row may take at one size, all rounds together (at
 * least kMinForkCount spawns per round are run, however slow a fork is). */
static const double kForkRowBudget = 2.0;
static const double kCalibrationSeconds = 0.2; /* a fork row's warm-up is long enough to estimate from */
static const double kTargetRatio = 1.1;
static const double kTargetGrowth = 1.5;

static const char *const kRowShort[ROW_COUNT] = {"discard", "capture", "forked future", "fork+execve", "posix_spawn"};
static const int kRowForks[ROW_COUNT] = {0, 0, 1, 1, 0};

/* ---- arguments and output --------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: bench-spawn [--rounds R] [--count N] [SIZE ...]\n"
            "  SIZE: the parent's resident memory, e.g. 10M 1G 4G (the default)\n"
            "  R: rounds (default %d, at most %d), N: spawns per row and round (default %d;\n"
            "     the fork rows use fewer where a fork is slow, each row at most ~%.0f s per size)\n",
            kDefaultRounds, BENCH_MAX_ROUNDS, kDefaultCount, kForkRowBudget);
}

static void table_row(const char *size_label, Row row, double value, double base, double growth, const char *target,
                      const char *verdict)
{
    char label[64], o[32], r[16], g[16];
    snprintf(label, sizeof label, "%s: %s", size_label, kRowName[row]);
    snprintf(o, sizeof o, "%.1f us", value * 1e6);
    if (row == ROW_HAND_SPAWN || base <= 0.0)
        snprintf(r, sizeof r, "-");
    else
        snprintf(r, sizeof r, "%.3f", value / base);
    snprintf(g, sizeof g, "%.2fx", growth);
    printf("%-34s %12s %8s %8s  %-18s %s\n", label, o, r, g, target, verdict);
}

/* RESULTS/spawn-<time>.json: per row, every round's cost per spawn (us) and the medians, by parent size. */
static int write_results(const size_t *sizes, const size_t *rss, int nsizes, long rounds, long count,
                         const long *fork_count, double (*per_spawn)[kMaxSizes][BENCH_MAX_ROUNDS],
                         double (*median)[kMaxSizes])
{
    static const char *const key[ROW_COUNT] = {"discard", "capture", "forked_future", "fork_execve", "posix_spawn"};
    char path[4096];
    FILE *f = bench_json_open("spawn", path, sizeof path);
    if (f == NULL)
        return -1;
    double mib[kMaxSizes], rss_mib[kMaxSizes], forks[kMaxSizes];
    for (int s = 0; s < nsizes; ++s) {
        mib[s] = (double)sizes[s] / (double)(1 << 20);
        rss_mib[s] = (double)rss[s] / (double)(1 << 20);
        forks[s] = (double)fork_count[s];
    }
    fprintf(f, ",\n\"program\": \"%s\",\n\"rounds\": %ld,\n\"count\": %ld", kProgram, rounds, count);
    bench_json_array(f, "size_mib", mib, nsizes, 1.0);
    bench_json_array(f, "rss_mib", rss_mib, nsizes, 1.0);
    bench_json_array(f, "fork_count", forks, nsizes, 1.0);
    fputs(",\n\"rows\": {", f);
    for (int r = 0; r < ROW_COUNT; ++r)
        bench_json_row(f, r == 0, key[r], kRowName[r], median[r], per_spawn[r], nsizes, rounds);
    fputs("}", f);
    return bench_json_close(f, "spawn", path);
}

int main(int argc, char **argv)
{
    long rounds = bench_env_long("BENCH_ROUNDS", kDefaultRounds);
    long count = kDefaultCount;
    size_t sizes[kMaxSizes];
    int nsizes = 0;
    for (int i = 1; i < argc; ++i) {
        const char *value;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (bench_option(argc, argv, &i, "--rounds", &value)) {
            if (bench_parse_long(value, 1, BENCH_MAX_ROUNDS, &rounds) != 0) {
                fprintf(stderr, "bench-spawn: --rounds wants a number from 1 to %d\n", BENCH_MAX_ROUNDS);
                return 2;
            }
            continue;
        }
        if (bench_option(argc, argv, &i, "--count", &value)) {
            if (bench_parse_long(value, 1, kMaxCount, &count) != 0) {
                fprintf(stderr, "bench-spawn: --count wants a number from 1 to %d\n", kMaxCount);
                return 2;
            }
            continue;
        }
        if (nsizes == kMaxSizes || parse_size(argv[i], &sizes[nsizes]) != 0) {
            fprintf(stderr, "bench-spawn: bad argument '%s' (at most %d sizes such as 10M or 4G)\n", argv[i],
                    kMaxSizes);
            usage(stderr);
            return 2;
        }
        ++nsizes;
    }
    if (nsizes == 0) {
        sizes[nsizes++] = (size_t)10 << 20;
        sizes[nsizes++] = (size_t)1 << 30;
        sizes[nsizes++] = (size_t)4 << 30;
    }
    if (rounds > BENCH_MAX_ROUNDS)
        rounds = BENCH_MAX_ROUNDS;
    qsort(sizes, (size_t)nsizes, sizeof sizes[0], cmp_size);

    /* Refuse what would push the machine into swapping or the OOM killer. */
    const double physical = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (physical > 0.0 && (double)sizes[nsizes - 1] > 0.75 * physical) {
        char big[32];
        format_size(sizes[nsizes - 1], big, sizeof big);
        fprintf(stderr, "bench-spawn: %s is more than 3/4 of this machine's %.1f GiB of memory\n", big,
                physical / (double)(1ULL << 30));
        return 2;
    }
    if (access(kProgram, X_OK) != 0) {
        fprintf(stderr, "bench-spawn: %s is not executable: %s\n", kProgram, strerror(errno));
        return 1;
    }

    const int fds_at_start = bench_count_open_fds();
    const char *const command_argv[] = {kProgram, NULL};
    Programs programs = {procreact_command_new(command_argv), procreact_command_new(command_argv), {"true", NULL}};
    if (programs.discard == NULL || programs.capture == NULL ||
        procreact_command_set_stdout(programs.discard, PROCREACT_OUTPUT_DISCARD, -1) != 0 ||
        procreact_command_set_stdout(programs.capture, PROCREACT_OUTPUT_CAPTURE, -1) != 0) {
        fprintf(stderr, "bench-spawn: cannot make the commands: %s\n", strerror(errno));
        return 1;
    }

    printf("Benchmark 5: spawn and wait for %s, one at a time, from a parent of growing resident memory\n", kProgram);
    printf("  ours: procreact_command_spawn() (stdout discarded; captured) and a forked future that execs;\n");
    printf("  hand: fork+execve+waitpid and posix_spawn+waitpid (the baseline)\n");
    printf("  sizes:");
    for (int s = 0; s < nsizes; ++s) {
        char label[32];
        format_size(sizes[s], label, sizeof label);
        printf(" %s", label);
    }
    printf("; %ld rounds of %ld spawns per row, sizes and rows alternating, medians shown\n", rounds, count);
    fflush(stdout);

    static double per_spawn[ROW_COUNT][kMaxSizes][BENCH_MAX_ROUNDS];
    double row_seconds[ROW_COUNT][kMaxSizes] = {{0.0}}; /* all rounds */
    size_t rss[kMaxSizes];
    long fork_count[kMaxSizes];
    double resize_seconds = 0.0;
    const double run_start = bench_wall_now();
    Ballast ballast;
    ballast_init(&ballast, sizes, nsizes);

    /*
     * Warm-up, discarded, at every size. A fork row's warm-up also tells how
     * slow a fork is there: it starts with 2 spawns (a 4 GiB fork may take
     * 0.4 s) and runs 5 times as many again while that took less than 0.2 s,
     * so that the first, cold spawns do not decide alone.
     */
    for (int s = 0; s < nsizes; ++s) {
        char size_label[32];
        format_size(sizes[s], size_label, sizeof size_label);
        double seconds = bench_wall_now();
        if (ballast_set(&ballast, s) != 0)
            return 1;
        resize_seconds += bench_wall_now() - seconds;
        double slowest_fork = 0.0;
        for (int r = 0; r < ROW_COUNT; ++r) {
            long n = kRowForks[r] ? kForkWarmUpCount : kWarmUpCount;
            for (;;) {
                if (n > count)
                    n = count;
                if (run_row((Row)r, &programs, n, &seconds) != 0) {
                    fprintf(stderr, "bench-spawn: warm-up failed at %s\n", size_label);
                    return 1;
                }
                if (!kRowForks[r] || seconds >= kCalibrationSeconds || n >= count || n >= kWarmUpCount)
                    break;
                n *= 5;
            }
            if (kRowForks[r] && seconds / (double)n > slowest_fork)
                slowest_fork = seconds / (double)n;
        }
        long forks = count;
        if (slowest_fork > 0.0 && (double)rounds * (double)count * slowest_fork > kForkRowBudget) {
            forks = (long)(kForkRowBudget / ((double)rounds * slowest_fork));
            if (forks < kMinForkCount)
                forks = kMinForkCount;
            if (forks > count)
                forks = count;
        }
        fork_count[s] = forks;
        fprintf(stderr, "  %s (resident %.1f MiB): a fork row's warm-up took %.2f ms per spawn: %ld per round\n",
                size_label, (double)resident_bytes() / (double)(1 << 20), slowest_fork * 1e3, forks);
    }

    /*
     * Every round visits every size, up and down in turn (the largest size
     * stays for the next round's start), so that load from elsewhere that
     * comes and goes hits all sizes alike. At a size, the rows take turns in
     * kBlocks blocks, in reverse order every other block and round.
     */
    for (long round = 0; round < rounds; ++round) {
        for (int step = 0; step < nsizes; ++step) {
            const int s = round % 2 == 0 ? nsizes - 1 - step : step;
            char size_label[32];
            format_size(sizes[s], size_label, sizeof size_label);
            double seconds = bench_wall_now();
            if (ballast_set(&ballast, s) != 0)
                return 1;
            resize_seconds += bench_wall_now() - seconds;
            rss[s] = resident_bytes();
            double round_seconds[ROW_COUNT] = {0.0};
            for (int block = 0; block < kBlocks; ++block) {
                for (int k = 0; k < ROW_COUNT; ++k) {
                    const Row row = (Row)((round + block) % 2 == 0 ? k : ROW_COUNT - 1 - k);
                    const long total = kRowForks[row] ? fork_count[s] : count;
                    const long n = total * (block + 1) / kBlocks - total * block / kBlocks;
                    if (n == 0)
                        continue;
                    if (run_row(row, &programs, n, &seconds) != 0) {
                        fprintf(stderr, "bench-spawn: round %ld failed (%s, %s)\n", round + 1, kRowName[row],
                                size_label);
                        return 1;
                    }
                    round_seconds[row] += seconds;
                }
            }
            for (int r = 0; r < ROW_COUNT; ++r) {
                per_spawn[r][s][round] = round_seconds[r] / (double)(kRowForks[r] ? fork_count[s] : count);
                row_seconds[r][s] += round_seconds[r];
            }
            fprintf(stderr, "  spawn round %ld/%ld, %s:", round + 1, rounds, size_label);
            for (int r = 0; r < ROW_COUNT; ++r)
                fprintf(stderr, " %s %.1f us%s", kRowShort[r], per_spawn[r][s][round] * 1e6,
                        r + 1 < ROW_COUNT ? "," : "\n");
        }
    }
    ballast_set(&ballast, -1);
    const double run_seconds = bench_wall_now() - run_start;

    double median[ROW_COUNT][kMaxSizes], paired[kMaxSizes];
    for (int r = 0; r < ROW_COUNT; ++r)
        for (int s = 0; s < nsizes; ++s)
            median[r][s] = bench_median(per_spawn[r][s], (int)rounds);
    for (int s = 0; s < nsizes; ++s)
        paired[s] = bench_paired_ratio(per_spawn[ROW_SPAWN_DISCARD][s], per_spawn[ROW_HAND_SPAWN][s], (int)rounds);

    printf("\n");
    printf("%-34s %12s %8s %8s  %-18s %s\n", "spawn + wait, per spawn", "median", "ratio", "growth", "target",
           "verdict");
    printf("%-34s %12s %8s %8s  %-18s %s\n", "----------------------------------", "------------", "--------",
           "--------", "------------------", "-------");
    int ratio_met = 1;
    for (int s = 0; s < nsizes; ++s) {
        char size_label[32];
        format_size(sizes[s], size_label, sizeof size_label);
        for (int r = 0; r < ROW_COUNT; ++r) {
            const double value = median[r][s];
            const double base = median[ROW_HAND_SPAWN][s];
            const double growth = median[r][0] > 0.0 ? value / median[r][0] : 0.0;
            if (r == ROW_SPAWN_DISCARD) {
                const int met = value <= base * kTargetRatio;
                ratio_met &= met;
                table_row(size_label, (Row)r, value, base, growth, "ratio <= 1.1", met ? "MET" : "MISSED");
            } else if (r == ROW_HAND_SPAWN) {
                table_row(size_label, (Row)r, value, base, growth, "(baseline)", "");
            } else {
                table_row(size_label, (Row)r, value, base, growth, "(info)", "");
            }
        }
    }
    printf("\n");
    printf("ratio: the row's median over the posix_spawn loop's at the same size; growth: the row's median\n");
    printf("at this size over its own at the smallest.\n");
    for (int s = 0; s < nsizes; ++s) {
        char size_label[32];
        format_size(sizes[s], size_label, sizeof size_label);
        printf("%s: resident %.1f MiB; median of paired ratios ours (discard) / posix_spawn: %.3f\n", size_label,
               (double)rss[s] / (double)(1 << 20), paired[s]);
        const double fork_seconds = row_seconds[ROW_FORKED_FUTURE][s] > row_seconds[ROW_HAND_FORK][s]
                                        ? row_seconds[ROW_FORKED_FUTURE][s]
                                        : row_seconds[ROW_HAND_FORK][s];
        printf("  fork rows: %ld spawns per round%s, the slower row %.1f s in all\n", fork_count[s],
               fork_count[s] < count ? " (fewer: a fork is slow here)" : "", fork_seconds);
    }

    char small[32], big[32];
    format_size(sizes[0], small, sizeof small);
    format_size(sizes[nsizes - 1], big, sizeof big);
    const double growth =
        median[ROW_SPAWN_DISCARD][0] > 0.0 ? median[ROW_SPAWN_DISCARD][nsizes - 1] / median[ROW_SPAWN_DISCARD][0] : 0.0;
    const double fork_growth =
        median[ROW_HAND_FORK][0] > 0.0 ? median[ROW_HAND_FORK][nsizes - 1] / median[ROW_HAND_FORK][0] : 0.0;
    printf("\n");
    printf("target: ours (discard) at %s / at %s = %.2fx (<= %.1f): %s\n", big, small, growth, kTargetGrowth,
           nsizes > 1 ? (growth <= kTargetGrowth ? "MET" : "MISSED") : "n/a (one size)");
    const double paired_growth =
        bench_paired_ratio(per_spawn[ROW_SPAWN_DISCARD][nsizes - 1], per_spawn[ROW_SPAWN_DISCARD][0], (int)rounds);
    const double base_growth =
        median[ROW_HAND_SPAWN][0] > 0.0 ? median[ROW_HAND_SPAWN][nsizes - 1] / median[ROW_HAND_SPAWN][0] : 0.0;
    printf("  (info: median of the rounds' own ratios %.2fx; the posix_spawn loop grew %.2fx)\n", paired_growth,
           base_growth);
    printf("target: ours (discard) / posix_spawn loop <= %.1f at every size:", kTargetRatio);
    for (int s = 0; s < nsizes; ++s) {
        char size_label[32];
        format_size(sizes[s], size_label, sizeof size_label);
        printf(" %s %.3f%s", size_label,
               median[ROW_HAND_SPAWN][s] > 0.0 ? median[ROW_SPAWN_DISCARD][s] / median[ROW_HAND_SPAWN][s] : 0.0,
               s + 1 < nsizes ? "," : "");
    }
    printf(": %s\n", ratio_met ? "MET" : "MISSED");
    printf("for comparison: hand fork+execve at %s / at %s = %.2fx\n", big, small, fork_growth);
    printf("whole run: %.1f s, of which %.1f s making the process bigger (writing its pages)\n", run_seconds,
           resize_seconds);

    if (write_results(sizes, rss, nsizes, rounds, count, fork_count, per_spawn, median) != 0)
        return 1;
    procreact_command_free(programs.discard);
    procreact_command_free(programs.capture);
    const int fds_at_end = bench_count_open_fds();
    if (!bench_no_children_left() || fds_at_end != fds_at_start) {
        fprintf(stderr, "bench-spawn: left behind: %s, %d descriptors open (%d at start)\n",
                bench_no_children_left() ? "no child" : "children", fds_at_end, fds_at_start);
        return 1;
    }
    return 0;
}
