/* SPDX-License-Identifier: MIT */
/* bench-spawn-many: the four kinds (bench_spawn_many_kinds.c), each running a count of /bin/true, `limit` at once. */
#ifndef PROCREACT_BENCH_SPAWN_MANY_KINDS_H
#define PROCREACT_BENCH_SPAWN_MANY_KINDS_H

#include <procreact_spawn.h>

#include <pthread.h>

enum { kMaxLimit = 1024 }; /* programs at once, and GLib threads */

extern const char kProgram[]; /* "/bin/true" */

typedef enum { KIND_CAPTURE, KIND_DISCARD, KIND_HAND, KIND_GLIB, KIND_COUNT } Kind;

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

extern Failures g_failures;

/* Runs the Job at @p data once (a BenchRound): 0 when every program exited with 0. */
int run_job(void *data);

#endif /* PROCREACT_BENCH_SPAWN_MANY_KINDS_H */
