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
 */
#define _GNU_SOURCE
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <glib.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "bench.h"

extern char **environ;

enum { kDefaultRounds = 5, kDefaultCount = 2000, kDefaultLimit = 8, kMaxCount = 10000000, kMaxLimit = 1024 };
enum { kWarmUpCount = 200 };
/*
 * A round's programs of a kind run in this many blocks, the kinds taking
 * turns block by block, so that a burst of load from elsewhere (seconds
 * long on the shared machine) hits all kinds alike rather than the one that
 * happened to run then. Each block ends with fewer than `limit` running, a
 * few percent of its time, alike for every kind.
 */
enum { kBlocks = 5 };

static const char kProgram[] = "/bin/true";

typedef enum { KIND_CAPTURE, KIND_DISCARD, KIND_HAND, KIND_GLIB, KIND_COUNT } Kind;

static const char *const kKindName[KIND_COUNT] = {"ours (capture)", "ours (discard)", "hand posix_spawn",
                                                  "GLib g_spawn_sync"};

/* fork() calls in this process, counted by a pthread_atfork() parent handler. */
static atomic_long g_forks;

static void count_fork(void)
{
    atomic_fetch_add_explicit(&g_forks, 1, memory_order_relaxed);
}

/* What one round runs. */
typedef struct {
    Kind kind;
    long count;
    unsigned limit;
    const ProcReact_Command *capture;
    const ProcReact_Command *discard;
} Job;

/* The first failure of a round, described once. */
typedef struct {
    pthread_mutex_t lock;
    long failures;
    char first[256];
} Failures;

static Failures g_failures = {PTHREAD_MUTEX_INITIALIZER, 0, ""};

static void record_failure(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void record_failure(const char *format, ...)
{
    pthread_mutex_lock(&g_failures.lock);
    if (g_failures.failures++ == 0) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(g_failures.first, sizeof g_failures.first, format, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&g_failures.lock);
}

/* Describes a wait status that is not a clean exit with 0. */
static void describe_wait_status(int wstatus, char *out, size_t size)
{
    if (WIFEXITED(wstatus))
        snprintf(out, size, "exited with %d", WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        snprintf(out, size, "killed by signal %d", WTERMSIG(wstatus));
    else
        snprintf(out, size, "wait status 0x%x", (unsigned)wstatus);
}

/* ---- ours: a future iterator over spawned commands -------------------- */

typedef struct {
    const ProcReact_Command *command;
    long count;
    long started;
    long ok;
} OursRun;

static ProcReact_bool ours_has_next(void *data)
{
    const OursRun *run = data;
    return run->started < run->count;
}

static ProcReact_Future ours_next(void *data)
{
    OursRun *run = data;
    ++run->started;
    return procreact_command_spawn(run->command, procreact_create_string_type());
}

static void ours_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    OursRun *run = data;
    if (status == PROCREACT_STATUS_OK && future->result != NULL) {
        ++run->ok;
    } else {
        /* Only on failure: what the library knows about how it ended. */
        ProcReact_ExitInfo info;
        if (procreact_future_info(future, &info) != 0) {
            record_failure("status %d, no exit details", (int)status);
            info.stderr_data = NULL;
        } else if (info.exec_errno != 0)
            record_failure("could not start %s: %s", kProgram, strerror(info.exec_errno));
        else if (info.signal != 0)
            record_failure("killed by signal %d", info.signal);
        else if (status == PROCREACT_STATUS_FORK_FAIL)
            record_failure("could not spawn (out of processes or descriptors?)");
        else
            record_failure("exited with %d (status %d)", info.exit_code, (int)status);
        free(info.stderr_data); /* NULL: standard error is not captured here */
    }
    free(future->result);
    future->result = NULL;
}

static int run_ours(const Job *job)
{
    OursRun run = {job->kind == KIND_CAPTURE ? job->capture : job->discard, job->count, 0, 0};
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(ours_has_next, ours_next, ours_complete, &run);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, job->limit);
    procreact_destroy_future_iterator(&it);
    return run.ok == job->count ? 0 : -1;
}

/* ---- hand: posix_spawn() and waitpid(-1), `limit` in flight ----------- */

static int run_hand(const Job *job)
{
    char *argv[] = {"true", NULL};
    long started = 0, running = 0, ok = 0;
    int spawn_error = 0;
    while (running > 0 || (started < job->count && spawn_error == 0)) {
        while (running < (long)job->limit && started < job->count && spawn_error == 0) {
            pid_t pid;
            const int r = posix_spawn(&pid, kProgram, NULL, NULL, argv, environ);
            if (r != 0) {
                spawn_error = r;
                record_failure("posix_spawn: %s", strerror(r));
                break;
            }
            ++started;
            ++running;
        }
        if (running == 0)
            break;
        int wstatus;
        const pid_t pid = waitpid(-1, &wstatus, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            record_failure("waitpid: %s", strerror(errno));
            return -1; /* ECHILD: nothing left to wait for */
        }
        --running;
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
            ++ok;
        } else {
            char what[64];
            describe_wait_status(wstatus, what, sizeof what);
            record_failure("%s %s", kProgram, what);
        }
    }
    return ok == job->count ? 0 : -1;
}

/* ---- GLib: `limit` threads, each g_spawn_sync() in a loop ------------- */

typedef struct {
    atomic_long next; /* the next program to run, shared by the threads */
    long count;
    atomic_long ok;
} GlibRun;

static void *glib_worker(void *data)
{
    GlibRun *run = data;
    gchar *argv[] = {(gchar *)kProgram, NULL};
    while (atomic_fetch_add(&run->next, 1) < run->count) {
        GError *error = NULL;
        gint wstatus = 0;
        const gboolean spawned = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                              NULL, NULL, NULL, NULL, &wstatus, &error);
        if (!spawned) {
            record_failure("g_spawn_sync: %s", error != NULL ? error->message : "failed");
            g_clear_error(&error);
        } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
            atomic_fetch_add(&run->ok, 1);
        } else {
            char what[64];
            describe_wait_status(wstatus, what, sizeof what);
            record_failure("%s %s", kProgram, what);
        }
    }
    return NULL;
}

static int run_glib(const Job *job)
{
    GlibRun run;
    atomic_init(&run.next, 0);
    atomic_init(&run.ok, 0);
    run.count = job->count;
    pthread_t threads[kMaxLimit];
    unsigned started = 0;
    for (; started < job->limit; ++started) {
        const int r = pthread_create(&threads[started], NULL, glib_worker, &run);
        if (r != 0) {
            record_failure("pthread_create: %s", strerror(r));
            atomic_store(&run.next, run.count); /* the running ones stop after their program */
            break;
        }
    }
    for (unsigned i = 0; i < started; ++i)
        pthread_join(threads[i], NULL);
    return started == job->limit && atomic_load(&run.ok) == job->count ? 0 : -1;
}

/* ---- the driver -------------------------------------------------------- */

typedef struct {
    BenchSample sample;
    long forks;
} KindSample;

static int run_job(void *data)
{
    const Job *job = data;
    switch (job->kind) {
    case KIND_CAPTURE:
    case KIND_DISCARD:
        return run_ours(job);
    case KIND_HAND:
        return run_hand(job);
    default:
        return run_glib(job);
    }
}

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
