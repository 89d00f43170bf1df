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
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <procreact_future.h>
#include <procreact_pid_iterator.h>
#include <procreact_types.h>

#include "bench.h"
#include "bench_json.h"

#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim() */
#endif

enum { kMaxSizes = 16, kDefaultRounds = 5, kMaxChildren = 100000 };

static const long kDefaultSizes[] = {500, 1000, 2000, 4000};
static const double kTargetGrowth = 1.5;

typedef enum { KIND_FUTURES, KIND_PIDS, KIND_HAND, KIND_COUNT } Kind;

static const char *const kKindName[KIND_COUNT] = {"futures", "pids", "hand loop"};
static const char *const kKindKey[KIND_COUNT] = {"futures", "pids", "hand"}; /* in the results file */

/* The gate: children block reading it until the parent closes the write end. */
typedef struct {
    int read_end;
    int write_end;
} Gate;

/* Storage for the largest N, shared by the rounds. */
typedef struct {
    ProcReact_Future *futures;
    pid_t *pids;
    int *fds;
} Slots;

static int gate_open(Gate *gate, const char *kind)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fprintf(stderr, "bench-scaling: %s: cannot make the gate pipe: %s\n", kind, strerror(errno));
        return -1;
    }
    gate->read_end = fds[0];
    gate->write_end = fds[1];
    return 0;
}

/* Lets every child go: the last write end closes, so their reads end. */
static void gate_release(Gate *gate)
{
    if (gate->write_end >= 0)
        close(gate->write_end);
    gate->write_end = -1;
}

static void gate_close(Gate *gate)
{
    gate_release(gate);
    if (gate->read_end >= 0)
        close(gate->read_end);
    gate->read_end = -1;
}

/* In a child: drop the inherited write end, then wait for the parent's. */
static void child_pass_gate(const Gate *gate)
{
    close(gate->write_end);
    char c;
    for (;;) {
        const ssize_t n = read(gate->read_end, &c, 1);
        if (n == 0 || (n < 0 && errno != EINTR))
            return;
    }
}

static void report_spawn_failure(const char *kind, long started, long n, int err)
{
    fprintf(stderr,
            "bench-scaling: %s: spawning child %ld of %ld failed: %s\n"
            "  (check RLIMIT_NPROC (ulimit -u), RLIMIT_NOFILE (ulimit -n), kernel.pid_max, memory;\n"
            "   or run with smaller sizes, e.g. bench-scaling 100 200)\n",
            kind, started + 1, n, strerror(err));
}

/* ---- futures ---------------------------------------------------------- */

static int run_futures(const Slots *slots, long n, double *seconds)
{
    Gate gate;
    if (gate_open(&gate, "futures") != 0)
        return -1;
    long started = 0;
    int spawn_errno = 0;
    const double t0 = bench_wall_now();
    for (; started < n; ++started) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
        if (future.pid == 0) {
            child_pass_gate(&gate);
            const ssize_t w = write(future.fd, "x", 1);
            _exit(w == 1 ? 0 : 1);
        }
        if (future.pid < 0) {
            spawn_errno = errno;
            break;
        }
        slots->futures[started] = future;
    }
    *seconds = bench_wall_now() - t0;

    gate_release(&gate);
    long bad = 0;
    for (long i = 0; i < started; ++i) {
        ProcReact_Status status;
        char *result = procreact_future_get(&slots->futures[i], &status);
        if (status != PROCREACT_STATUS_OK || result == NULL || strcmp(result, "x") != 0)
            ++bad;
        free(result);
    }
    gate_close(&gate);
    if (started < n) {
        report_spawn_failure("futures", started, n, spawn_errno);
        return -1;
    }
    if (bad != 0) {
        fprintf(stderr, "bench-scaling: futures: %ld of %ld children gave a wrong result\n", bad, n);
        return -1;
    }
    return 0;
}

/* ---- pid iterator ----------------------------------------------------- */

typedef struct {
    const Gate *gate;
    long n;
    long spawned; /* next() calls, including a failed one */
    int spawn_errno;
    long ok, bad;
} PidRun;

static ProcReact_bool pids_has_next(void *data)
{
    const PidRun *run = data;
    return run->spawned < run->n && run->spawn_errno == 0;
}

static pid_t pids_next(void *data)
{
    PidRun *run = data;
    ++run->spawned;
    const pid_t pid = fork();
    if (pid == 0) {
        child_pass_gate(run->gate);
        _exit(0);
    }
    if (pid < 0)
        run->spawn_errno = errno;
    return pid;
}

static void pids_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    PidRun *run = data;
    (void)pid;
    if (status == PROCREACT_STATUS_OK && result == 0)
        ++run->ok;
    else
        ++run->bad;
}

static int run_pids(long n, double *seconds)
{
    Gate gate;
    if (gate_open(&gate, "pids") != 0)
        return -1;
    PidRun run = {&gate, n, 0, 0, 0, 0};
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(pids_has_next, pids_next, NULL, pids_complete, &run);
    const double t0 = bench_wall_now();
    while (procreact_spawn_next_pid(&it))
        ;
    *seconds = bench_wall_now() - t0;

    gate_release(&gate);
    procreact_fork_in_parallel_and_wait(&it); /* nothing left to spawn: waits for all */
    procreact_destroy_pid_iterator(&it);
    gate_close(&gate);
    if (run.spawn_errno != 0) {
        report_spawn_failure("pids", run.spawned - 1, n, run.spawn_errno);
        return -1;
    }
    if (run.bad != 0 || run.ok != n) {
        fprintf(stderr, "bench-scaling: pids: %ld of %ld children completed badly\n", n - run.ok, n);
        return -1;
    }
    return 0;
}

/* ---- hand-written baseline -------------------------------------------- */

static int run_hand(const Slots *slots, long n, double *seconds)
{
    Gate gate;
    if (gate_open(&gate, "hand loop") != 0)
        return -1;
    long started = 0;
    int spawn_errno = 0;
    const double t0 = bench_wall_now();
    for (; started < n; ++started) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            spawn_errno = errno;
            break;
        }
        const pid_t pid = fork();
        if (pid < 0) {
            spawn_errno = errno;
            close(fds[0]);
            close(fds[1]);
            break;
        }
        if (pid == 0) {
            child_pass_gate(&gate);
            const ssize_t w = write(fds[1], "x", 1);
            _exit(w == 1 ? 0 : 1);
        }
        close(fds[1]);
        slots->fds[started] = fds[0];
        slots->pids[started] = pid;
    }
    *seconds = bench_wall_now() - t0;

    gate_release(&gate);
    long bad = 0;
    for (long i = 0; i < started; ++i) {
        char buf[8];
        size_t len = 0;
        for (;;) {
            const ssize_t r = read(slots->fds[i], buf + len, sizeof buf - len);
            if (r > 0) {
                len += (size_t)r;
                if (len == sizeof buf)
                    break;
            } else if (r == 0 || errno != EINTR) {
                break;
            }
        }
        close(slots->fds[i]);
        const int exited_ok = bench_wait_ok(slots->pids[i]);
        if (!exited_ok || len != 1 || buf[0] != 'x')
            ++bad;
    }
    gate_close(&gate);
    if (started < n) {
        report_spawn_failure("hand loop", started, n, spawn_errno);
        return -1;
    }
    if (bad != 0) {
        fprintf(stderr, "bench-scaling: hand loop: %ld of %ld children gave a wrong result\n", bad, n);
        return -1;
    }
    return 0;
}

/*
 * Runs one kind at one N. Afterwards the heap that the run freed is given
 * back (glibc keeps it resident otherwise): fork() copies the page tables of
 * every resident page, so without this each run would pay for whatever the
 * previous one, of any kind, left behind (4000 futures' states leave tens of
 * MiB), and the baseline's cost at a small N would depend on the order. What
 * a kind allocates while its own N children are in flight still counts.
 */
static int run_kind(Kind kind, const Slots *slots, long n, double *seconds)
{
    int rc;
    fflush(stdout); /* nothing buffered for a child to inherit */
    fflush(stderr);
    switch (kind) {
    case KIND_FUTURES:
        rc = run_futures(slots, n, seconds);
        break;
    case KIND_PIDS:
        rc = run_pids(n, seconds);
        break;
    default:
        rc = run_hand(slots, n, seconds);
        break;
    }
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    return rc;
}

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
