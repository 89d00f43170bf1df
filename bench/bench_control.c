/* SPDX-License-Identifier: MIT */
/*
 * bench-control: what time and control cost.
 *
 * 1. Deadline among siblings. A collection of N futures (/bin/true, 8 at
 *    a time) with and without one extra future that hangs (sleep 100) under a
 *    100 ms deadline. Reports, as medians of alternating rounds, when the last
 *    ordinary future completed in both kinds of run (their ratio says whether
 *    the hung one delays its siblings) and how long after its start the hung
 *    one completed (100 ms + the stop: SIGTERM kills sleep at once). N = 250,
 *    500, 1,000 by default.
 * 2. Idle cost. 100 quiet children (sleep) in a collection whose descriptor
 *    a GLib main loop watches for 5 s: the process's CPU time over those
 *    5 s, as a share of one CPU, next to the same loop with no collection.
 *
 * Results go to RESULTS/control-<time>.json (bench_json.h): the table,
 * and the timeline of the last round with the hung future at each N (every
 * future's start and completion), which bench/plot.py draws.
 *
 * Usage: bench-control [--rounds R] [--idle SECONDS] [N...]
 */
#define _GNU_SOURCE
#include "bench.h"
#include "bench_json.h"

#include <glib-unix.h>
#include <glib.h>
#include <signal.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

typedef struct {
    int total, spawned, completed;
    int hung;            /* spawn one hung future first */
    double start;
    double last_ordinary; /* when the last ordinary future completed */
    double hung_delay;    /* from the hung one's start to its completion */
    double hung_start;
    int hung_flags;
    const char *quiet;   /* script of quiet children (idle part) */
    /* The timeline (when record is set): per future in spawn order. */
    int record;
    pid_t *pids;
    double *starts, *ends;
} Run;

/* The timeline of one round: future i ran from starts[i] to ends[i]
 * (seconds from the round's start); future 0 is the hung one. */
typedef struct {
    int n;
    double *starts, *ends;
} Timeline;

static void note_start(Run *r, const ProcReact_Future *future)
{
    if (r->record) {
        r->pids[r->spawned - 1] = future->pid;
        r->starts[r->spawned - 1] = bench_wall_now() - r->start;
    }
}

static void note_end(Run *r, const ProcReact_Future *future, double now)
{
    if (!r->record)
        return;
    for (int i = r->spawned - 1; i >= 0; --i)
        if (r->pids[i] == future->pid) {
            r->ends[i] = now - r->start;
            return;
        }
}

static ProcReact_Future spawn_argv(const char *const *argv)
{
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    procreact_command_set_stdout(command, PROCREACT_OUTPUT_DISCARD, -1);
    future = procreact_command_spawn(command, procreact_create_bytes_type());
    procreact_command_free(command);
    return future;
}

static ProcReact_bool run_has_next(void *data)
{
    Run *r = data;
    return r->spawned < r->total + (r->hung ? 1 : 0);
}

static ProcReact_Future run_next(void *data)
{
    static const char *const truth[] = {"/bin/true", NULL};
    static const char *const hang[] = {"/bin/sleep", "100", NULL};
    Run *r = data;
    ProcReact_Future future;
    if (r->quiet != NULL) {
        const char *const quiet[] = {"/bin/sh", "-c", r->quiet, NULL};
        r->spawned++;
        return spawn_argv(quiet);
    }
    if (r->hung && r->spawned == 0) {
        r->spawned++;
        r->hung_start = bench_wall_now();
        future = spawn_argv(hang);
        procreact_future_set_timeout(&future, 0.1);
        note_start(r, &future);
        return future;
    }
    r->spawned++;
    future = spawn_argv(truth);
    note_start(r, &future);
    return future;
}

static void run_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    ProcReact_ExitInfo info;
    double now = bench_wall_now();
    (void)status;
    r->completed++;
    note_end(r, future, now);
    if (procreact_future_info(future, &info) == 0 && (info.flags & PROCREACT_EXIT_TIMED_OUT)) {
        r->hung_delay = now - r->hung_start;
        r->hung_flags = (int)info.flags;
    } else {
        r->last_ordinary = now - r->start;
    }
    if (future->result != NULL) {
        free(((ProcReact_BytesState *)future->result)->data);
        free(future->result);
    }
}

static void one_round(int n, int hung, double *last, double *delay, Timeline *timeline)
{
    Run r;
    ProcReact_FutureIterator it;
    memset(&r, 0, sizeof r);
    r.total = n;
    r.hung = hung;
    if (timeline != NULL) {
        r.record = 1;
        r.pids = calloc((size_t)n + 1, sizeof *r.pids);
        r.starts = timeline->starts = calloc((size_t)n + 1, sizeof(double));
        r.ends = timeline->ends = calloc((size_t)n + 1, sizeof(double));
        timeline->n = n + hung;
        if (r.pids == NULL || r.starts == NULL || r.ends == NULL) {
            fprintf(stderr, "bench-control: out of memory\n");
            exit(1);
        }
    }
    it = procreact_initialize_future_iterator(run_has_next, run_next, run_complete, &r);
    r.start = bench_wall_now();
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 8);
    procreact_destroy_future_iterator(&it);
    if (r.completed != n + hung) {
        fprintf(stderr, "bench-control: %d of %d completed\n", r.completed, n + hung);
        exit(1);
    }
    if (hung && !(r.hung_flags & PROCREACT_EXIT_TIMED_OUT)) {
        fprintf(stderr, "bench-control: the hung future was not marked timed out\n");
        exit(1);
    }
    *last = r.last_ordinary;
    *delay = r.hung_delay;
    free(r.pids);
}

static void write_timeline(FILE *f, int n, const Timeline *t)
{
    fprintf(f, "%s\n{\"n\": %d", n ? "," : "", t->n - 1);
    bench_json_array(f, "start_ms", t->starts, t->n, 1e3);
    bench_json_array(f, "end_ms", t->ends, t->n, 1e3);
    fputc('}', f);
    free(t->starts);
    free(t->ends);
}

/* ------------------------------------------------------------- idle part */

typedef struct {
    GMainLoop *loop;
    ProcReact_FutureIterator *it;
    int steps;
} Idle;

static gboolean idle_on_fd(gint fd, GIOCondition condition, gpointer data)
{
    Idle *idle = data;
    (void)fd;
    (void)condition;
    idle->steps++;
    procreact_future_iterator_step(idle->it, 0);
    return G_SOURCE_CONTINUE;
}

static gboolean idle_quit(gpointer data)
{
    g_main_loop_quit(((Idle *)data)->loop);
    return G_SOURCE_REMOVE;
}

/* CPU seconds of this process while a GLib loop runs @p seconds, watching
 * a collection of 100 quiet children when @p with_children. */
static double idle_cpu(double seconds, int with_children, int *steps)
{
    Run r;
    ProcReact_FutureIterator it;
    Idle idle;
    double cpu;
    guint source = 0;
    memset(&r, 0, sizeof r);
    memset(&idle, 0, sizeof idle);
    r.total = with_children ? 100 : 0;
    r.quiet = "exec sleep 1000";
    it = procreact_initialize_future_iterator(run_has_next, run_next, run_complete, &r);
    idle.loop = g_main_loop_new(NULL, FALSE);
    idle.it = &it;
    if (with_children) {
        procreact_future_iterator_step(&it, 0);
        source = g_unix_fd_add(procreact_future_iterator_fd(&it), G_IO_IN, idle_on_fd, &idle);
    }
    g_timeout_add((guint)(seconds * 1000), idle_quit, &idle);
    cpu = bench_cpu_now();
    g_main_loop_run(idle.loop);
    cpu = bench_cpu_now() - cpu;
    if (source != 0)
        g_source_remove(source);
    /* Stop them all through the stop sequence, and collect them. */
    procreact_future_iterator_cancel(&it);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    procreact_destroy_future_iterator(&it);
    g_main_loop_unref(idle.loop);
    if (with_children && r.completed != 100) {
        fprintf(stderr, "bench-control: %d of 100 quiet children completed after cancel\n", r.completed);
        exit(1);
    }
    *steps = idle.steps;
    return cpu;
}

int main(int argc, char **argv)
{
    int rounds = 5, sizes[8], nsizes = 0;
    double medians[3][8];
    double idle_seconds = 5.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--idle") == 0 && i + 1 < argc)
            idle_seconds = atof(argv[++i]);
        else if (nsizes < 8)
            sizes[nsizes++] = atoi(argv[i]);
    }
    if (nsizes == 0) {
        sizes[0] = 250;
        sizes[1] = 500;
        sizes[2] = 1000;
        nsizes = 3;
    }
    if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
        rounds = 5;

    printf("bench-control: %d rounds, alternating, medians\n\n", rounds);
    printf("1. one hung future (sleep 100, 100 ms deadline) among N /bin/true, 8 at a time\n");
    printf("%8s %16s %16s %8s %18s\n", "N", "last, alone", "last, with hung", "ratio", "hung completes at");
    char path[4096];
    FILE *json = bench_json_open("control", path, sizeof path);
    if (json == NULL)
        return 1;
    fprintf(json, ",\n\"rounds\": %d,\n\"deadline_ms\": 100,\n\"limit\": 8,\n\"timelines\": [", rounds);
    for (int s = 0; s < nsizes; s++) {
        double alone[BENCH_MAX_ROUNDS], with[BENCH_MAX_ROUNDS], delay[BENCH_MAX_ROUNDS], unused;
        for (int r = 0; r < rounds; r++) {
            /* The last round with the hung one is recorded for the timeline. */
            Timeline timeline;
            Timeline *t = r == rounds - 1 ? &timeline : NULL;
            if (r % 2 == 0) {
                one_round(sizes[s], 0, &alone[r], &unused, NULL);
                one_round(sizes[s], 1, &with[r], &delay[r], t);
            } else {
                one_round(sizes[s], 1, &with[r], &delay[r], t);
                one_round(sizes[s], 0, &alone[r], &unused, NULL);
            }
            if (t != NULL)
                write_timeline(json, s, t);
        }
        double a = bench_median(alone, rounds), w = bench_median(with, rounds), d = bench_median(delay, rounds);
        printf("%8d %13.1f ms %13.1f ms %7.2fx %15.1f ms\n", sizes[s], a * 1e3, w * 1e3, w / a, d * 1e3);
        medians[0][s] = a;
        medians[1][s] = w;
        medians[2][s] = d;
    }
    fputc(']', json);
    double n_values[8];
    for (int s = 0; s < nsizes; s++)
        n_values[s] = sizes[s];
    bench_json_array(json, "n", n_values, nsizes, 1.0);
    bench_json_array(json, "last_alone_ms", medians[0], nsizes, 1e3);
    bench_json_array(json, "last_with_hung_ms", medians[1], nsizes, 1e3);
    bench_json_array(json, "hung_completes_ms", medians[2], nsizes, 1e3);

    printf("\n2. idle cost: a GLib main loop for %.0f s\n", idle_seconds);
    int steps_with = 0, steps_without = 0;
    double without = idle_cpu(idle_seconds, 0, &steps_without);
    double with = idle_cpu(idle_seconds, 1, &steps_with);
    printf("%36s %10.2f ms CPU  %6.3f %% of one CPU\n", "loop alone:", without * 1e3, 100.0 * without / idle_seconds);
    printf("%36s %10.2f ms CPU  %6.3f %% of one CPU  (%d steps)\n", "loop watching 100 quiet children:", with * 1e3,
           100.0 * with / idle_seconds, steps_with);
    fprintf(json, ",\n\"idle_s\": %g,\n\"idle_cpu_ms\": {\"alone\": %.4f, \"with_100_children\": %.4f, \"steps\": %d}",
            idle_seconds, without * 1e3, with * 1e3, steps_with);
    return bench_json_close(json, "control", path) == 0 ? 0 : 1;
}
