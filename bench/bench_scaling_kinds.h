/* SPDX-License-Identifier: MIT */
/* bench-scaling: the three kinds (bench_scaling_kinds.c), each spawning N children held at a gate. */
#ifndef PROCREACT_BENCH_SCALING_KINDS_H
#define PROCREACT_BENCH_SCALING_KINDS_H

#include <procreact_future.h>
#include <sys/types.h>

typedef enum { KIND_FUTURES, KIND_PIDS, KIND_HAND, KIND_COUNT } Kind;

/* Storage for the largest N, shared by the rounds. */
typedef struct {
    ProcReact_Future *futures;
    pid_t *pids;
    int *fds;
} Slots;

/* Runs one kind at one N; *seconds gets the time the N spawns took. */
int run_kind(Kind kind, const Slots *slots, long n, double *seconds);

#endif /* PROCREACT_BENCH_SCALING_KINDS_H */
