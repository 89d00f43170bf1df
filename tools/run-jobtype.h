/* SPDX-License-Identifier: MIT */
/* procreact-run: the result type that reads a job's stdout into its spool. */
#ifndef PROCREACT_RUN_JOBTYPE_H
#define PROCREACT_RUN_JOBTYPE_H

#include <procreact_future.h>

#include "run-jobs.h"

/* Makes @p r the run whose spawning job the type's initialize returns (one
 * run per process). */
void job_type_init(Run *r);

/* The type a job of @p r runs with: its stdout read into the job's spool
 * (or line by line with --line-buffer), or with --ungroup the library's own
 * output type, which reads nothing. */
ProcReact_Type job_output_type(const Run *r);

#endif
