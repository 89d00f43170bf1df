/* SPDX-License-Identifier: MIT */
/*
 * spawn-iter: spawn-loop's jobs through the library: a future iterator whose
 * next() makes a command and returns procreact_command_spawn() of it, driven
 * by procreact_fork_buffer_and_wait_in_parallel_limit() with J in flight.
 * Standard input, output and error are inherited, as in spawn-loop, so both
 * start the very same programs the same way; only the parent differs.
 *
 * With --number, job k (1..N) runs as `PROGRAM k` (spawn-loop's --number).
 * With --latency, the wall time of every procreact_command_spawn() call
 * (how long it holds this thread) is kept and its median, 99th percentile
 * and maximum go to stderr at the end.
 *
 * With --rss MIB, it first makes itself about MIB MiB resident (as spawn-loop).
 *
 * With --report, it prints spawn-loop's `report:` line.
 *
 * With --batch, the same jobs go through a batch (procreact_batch.h: one
 * submit, waits of up to 64 results) instead of the iterator; --latency
 * is then not measured. With --threads T, the iterator or batch is set to
 * T spawning threads (procreact_*_set_spawn_threads(); without it, the
 * library's default: 1 for the iterator, more for a batch).
 *
 * With --poll, the iterator is driven as a main loop drives it: poll() on
 * procreact_future_iterator_fd(), then the non-blocking
 * procreact_future_iterator_step() (procreact-run's way), instead of the
 * blocking procreact_fork_buffer_and_wait_in_parallel_limit().
 *
 * Usage: spawn-iter [--number] [--latency] [--rss MIB] [--report] [--batch] [--poll] [--threads T] N J [PROGRAM]
 */
#define _GNU_SOURCE
#include <procreact_batch.h>
#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include "bench_ballast.h"
#include "bench_report.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    const char *program;
    int number;
    long n, started, failed;
    double *latency; /* per spawn call, in us, with --latency */
    char arg[32];
} Run;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static ProcReact_bool has_next(void *data)
{
    const Run *r = data;
    return r->started < r->n;
}

static ProcReact_Future next(void *data)
{
    Run *r = data;
    const long k = ++r->started; /* claimed before the spawn (PROCREACT_SPAWN_THREADS) */
    snprintf(r->arg, sizeof r->arg, "%ld", k);
    const char *argv[] = {r->program, r->number ? r->arg : NULL, NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    if (command == NULL) {
        perror("spawn-iter: procreact_command_new");
        exit(1);
    }
    procreact_command_set_stdin(command, PROCREACT_STDIN_INHERIT, -1);
    procreact_command_set_stdout(command, PROCREACT_OUTPUT_INHERIT, -1);
    const double before = r->latency != NULL ? now_us() : 0;
    ProcReact_Future future = procreact_command_spawn(command, procreact_create_bytes_type());
    if (r->latency != NULL)
        r->latency[k - 1] = now_us() - before;
    procreact_command_free(command);
    return future;
}

static void complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    ProcReact_ExitInfo info;
    if (status != PROCREACT_STATUS_OK || procreact_future_info(future, &info) != 0 || info.exit_code != 0) {
        if (r->failed++ == 0)
            fprintf(stderr, "spawn-iter: a job failed (status %d)\n", (int)status);
    }
    ProcReact_BytesState *bytes = future->result;
    if (bytes != NULL) {
        free(bytes->data);
        free(bytes);
    }
}

/* The jobs through a batch, J in flight, with @p threads spawning threads
 * (0: the library's default). */
static void run_batch(Run *r, unsigned j, unsigned threads)
{
    const char *template_argv[] = {r->program, NULL};
    ProcReact_Command *command = procreact_command_new(template_argv);
    ProcReact_Batch *batch;
    char(*numbers)[24] = calloc((size_t)(r->n > 0 ? r->n : 1), sizeof *numbers);
    const char **argv = calloc((size_t)(2 * r->n + 1), sizeof *argv);
    size_t *counts = calloc((size_t)(r->n > 0 ? r->n : 1), sizeof *counts);
    size_t at = 0;
    ProcReact_BatchResult out[64];
    if (command == NULL || numbers == NULL || argv == NULL || counts == NULL) {
        perror("spawn-iter");
        exit(1);
    }
    procreact_command_set_stdin(command, PROCREACT_STDIN_INHERIT, -1);
    procreact_command_set_stdout(command, PROCREACT_OUTPUT_INHERIT, -1);
    batch = procreact_batch_new(command, j);
    procreact_command_free(command);
    if (batch == NULL || (threads != 0 && procreact_batch_set_spawn_threads(batch, threads) != 0)) {
        perror("spawn-iter: procreact_batch_new");
        exit(1);
    }
    for (long k = 0; k < r->n; k++) {
        argv[at++] = r->program;
        counts[k] = 1;
        if (r->number) {
            snprintf(numbers[k], sizeof numbers[k], "%ld", k + 1);
            argv[at++] = numbers[k];
            counts[k] = 2;
        }
    }
    if (procreact_batch_submit(batch, argv, counts, (size_t)r->n) < 0) {
        perror("spawn-iter: procreact_batch_submit");
        exit(1);
    }
    r->started = r->n;
    while (procreact_batch_remaining(batch) > 0) {
        ssize_t got = procreact_batch_wait(batch, out, 64, -1);
        if (got < 0) {
            perror("spawn-iter: procreact_batch_wait");
            exit(1);
        }
        for (ssize_t i = 0; i < got; i++)
            if ((out[i].status != PROCREACT_STATUS_OK || out[i].info.exit_code != 0) && r->failed++ == 0)
                fprintf(stderr, "spawn-iter: a job failed (status %d)\n", (int)out[i].status);
    }
    procreact_batch_free(batch);
    free(numbers);
    free(argv);
    free(counts);
}

/* --poll: a main loop's way, one poll() on the iterator's descriptor per round. */
static void drive_by_poll(ProcReact_FutureIterator *it, unsigned j)
{
    const int fd = procreact_future_iterator_fd(it);
    if (fd < 0) {
        perror("spawn-iter: procreact_future_iterator_fd");
        exit(1);
    }
    while (procreact_future_iterator_step(it, j) > 0) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) {
            perror("spawn-iter: poll");
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    Run r = {0};
    int latency = 0, report = 0, batch = 0, poll_loop = 0;
    unsigned threads = 0;
    long rss_mib = 0;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--number") == 0) {
            r.number = 1;
        } else if (strcmp(argv[1], "--latency") == 0) {
            latency = 1;
        } else if (strcmp(argv[1], "--report") == 0) {
            report = 1;
        } else if (strcmp(argv[1], "--poll") == 0) {
            poll_loop = 1;
        } else if (strcmp(argv[1], "--batch") == 0) {
            batch = 1;
        } else if (strcmp(argv[1], "--threads") == 0 && argc > 2) {
            threads = (unsigned)atoi(argv[2]);
            --argc;
            ++argv;
        } else if (strcmp(argv[1], "--rss") == 0 && argc > 2) {
            rss_mib = atol(argv[2]);
            --argc;
            ++argv;
        } else {
            break;
        }
        --argc;
        ++argv;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: spawn-iter [--number] [--latency] [--rss MIB] [--report] [--batch] [--poll] [--threads T] N J "
                        "[PROGRAM]\n");
        return 2;
    }
    if (ballast_make(rss_mib, "spawn-iter") != 0)
        return 1;
    r.n = atol(argv[1]);
    if (latency && (r.latency = calloc((size_t)(r.n > 0 ? r.n : 1), sizeof *r.latency)) == NULL) {
        perror("spawn-iter");
        return 1;
    }
    long j = atol(argv[2]);
    r.program = argc > 3 ? argv[3] : "/bin/true";
    ReportStart start;
    report_start(&start);
    if (batch) {
        free(r.latency);
        r.latency = NULL;
        run_batch(&r, (unsigned)j, threads);
    } else {
        ProcReact_FutureIterator it = procreact_initialize_future_iterator(has_next, next, complete, &r);
        if (threads != 0 && procreact_future_iterator_set_spawn_threads(&it, threads) != 0) {
            perror("spawn-iter: procreact_future_iterator_set_spawn_threads");
            return 1;
        }
        if (poll_loop)
            drive_by_poll(&it, (unsigned)j);
        else
            procreact_fork_buffer_and_wait_in_parallel_limit(&it, (unsigned)j);
        procreact_destroy_future_iterator(&it);
    }
    if (r.latency != NULL && r.started > 0) {
        qsort(r.latency, (size_t)r.started, sizeof *r.latency, by_value);
        fprintf(stderr, "spawn-iter: spawn call: median %.1f us, p99 %.1f us, max %.1f us (%ld calls)\n",
                r.latency[r.started / 2], r.latency[(r.started * 99) / 100], r.latency[r.started - 1], r.started);
        free(r.latency);
    }
    if (report)
        report_print(&start);
    return r.failed != 0;
}
