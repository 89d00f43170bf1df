/* SPDX-License-Identifier: MIT */
/* bench-scaling: the three kinds, futures, a pid iterator and a hand loop, each spawning N children held at a gate. */
#define _GNU_SOURCE
#include "bench_scaling_kinds.h"

#include <fcntl.h>
#include <procreact_future.h>
#include <procreact_pid_iterator.h>
#include <procreact_types.h>

#include "bench.h"

#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim() */
#endif

/* The gate: children block reading it until the parent closes the write end. */
typedef struct {
    int read_end;
    int write_end;
} Gate;

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
int run_kind(Kind kind, const Slots *slots, long n, double *seconds)
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
