/* SPDX-License-Identifier: MIT */
/* bench-spawn: the five rows (bench_spawn_rows.c), each `count` spawns of /bin/true, waited for one at a time. */
#ifndef PROCREACT_BENCH_SPAWN_ROWS_H
#define PROCREACT_BENCH_SPAWN_ROWS_H

#include <procreact_spawn.h>

extern const char kProgram[]; /* "/bin/true" */

typedef enum { ROW_SPAWN_DISCARD, ROW_SPAWN_CAPTURE, ROW_FORKED_FUTURE, ROW_HAND_FORK, ROW_HAND_SPAWN, ROW_COUNT } Row;

extern const char *const kRowName[ROW_COUNT];

typedef struct {
    ProcReact_Command *discard;
    ProcReact_Command *capture;
    char *argv[2]; /* {"true", NULL} */
} Programs;

/* Runs one row; *seconds gets the wall time of the whole loop. */
int run_row(Row row, const Programs *programs, long count, double *seconds);

#endif /* PROCREACT_BENCH_SPAWN_ROWS_H */
