/* SPDX-License-Identifier: MIT */
/* procreact-run: where a job's stdout and stderr go (its slot's pipes, ours), and the result type it runs with. */
#ifndef PROCREACT_RUN_JOBTYPE_H
#define PROCREACT_RUN_JOBTYPE_H

#include <procreact_future.h>
#include <procreact_spawn.h>

#include "run-jobs.h"

/* Makes @p r the run whose spawning job the type's initialize returns (one
 * run per process). */
void job_type_init(Run *r);

/* The type a job of @p r runs with: with --line-buffer ours, which prints
 * its stdout line by line; otherwise the library's own output type, which
 * reads nothing. */
ProcReact_Type job_output_type(const Run *r);

/* Sets where the job's stdout and stderr go in @p cmd: grouped, into its
 * slot's pipes (made where the slot has none); with --line-buffer, our type
 * and a pipe of its own (Job.err_fd, and in @p child_err the child's end, to
 * close once spawned); with --ungroup, ours. Returns 0 or an errno value. */
int job_output_setup(Run *r, Job *job, ProcReact_Command *cmd, int *child_err);
/* The descriptors the run's loop watches for @p job, running or draining
 * (at most 2). */
size_t job_output_fds(const Run *r, const Job *job, int fds[2]);
/* Reads what @p fd (one of job_output_fds()) has ready; a draining job
 * whose output is all in then ends (run_drained()). */
void job_output_read(Run *r, Job *job, int fd);
/* At the job's end (reaped): reads the rest of its output. Returns 1 when
 * that is all of it, 0 when a process of its group lives on and may write
 * more: the job then drains its pipes (Job.drain) until they end. */
int job_output_collect(Run *r, Job *job);
/* Closes the slots' pipes (at the end of the run). */
void job_output_free(Run *r);

#endif
