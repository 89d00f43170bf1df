/* SPDX-License-Identifier: MIT */
/* procreact-run: printing a finished job (grouped, tagged, JSON), in order with -k, or line by line. */
#ifndef PROCREACT_RUN_EMIT_H
#define PROCREACT_RUN_EMIT_H

#include <sys/types.h>

#include "run-jobs.h"

/* --line-buffer: reads what @p in_fd has and prints the complete lines to
 * @p out_fd at once (the rest at the end of the stream); returns as read(). */
ssize_t emit_line_buffered(Run *r, Job *job, int out_fd, int in_fd);
/* Prints a finished job now, or with -k once the jobs before it are printed; frees it. */
void emit_finished(Run *r, Job *job);
/* Prints the jobs still waiting for their turn with -k (the run stopped). */
void emit_drain(Run *r);
/* Frees the jobs still waiting to be printed. */
void emit_free(Run *r);
/* The progress line on a terminal: drawn at most 10 times a second, or now with @p force. */
void progress_draw(Run *r, int force);
void progress_clear(Run *r);
void progress_end(Run *r);

#endif
