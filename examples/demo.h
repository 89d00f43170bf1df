/* SPDX-License-Identifier: MIT */
/* procreact-demo: the steps (demo_<step>.c) and the small helpers they share (demo.c). */
#ifndef PROCREACT_DEMO_H
#define PROCREACT_DEMO_H

#include <procreact_types.h>

#include <stddef.h>

/* ---- small helpers (demo.c) --------------------------------------------- */

double now_seconds(void);
void sleep_ms(long ms);
/* Writes all of buf to fd; returns 0 on success. For use in children. */
int write_all(int fd, const char *buf, size_t len);
const char *status_name(ProcReact_Status status);
/* The next of a tiny PRNG (xorshift32) seeded by main(). */
unsigned int next_random(void);

/* ---- the steps: each prints what it did, and returns 0 when it succeeded -- */

int step_future(const char *name); /* 1. demo_future.c */
int step_batch(void);              /* 2. demo_batch.c */
int step_exec(void);               /* 3. demo_exec.c */
int step_main_loop(void);          /* 4. demo_main_loop.c */
int step_spawn(void);              /* 5. demo_spawn.c */

#endif /* PROCREACT_DEMO_H */
