/* SPDX-License-Identifier: MIT */
/* procreact-run: the result type that reads a job's stdout into its spool. */
#include "run-jobtype.h"
#include "run-emit.h"

#include <unistd.h>

#include <procreact_control.h>

/* The run whose job is being spawned: the output type's initialize (which
 * takes no argument) finds the job there. One run per process. */
static Run *g_run;

static void *type_initialize(void)
{
    return g_run->spawning;
}

static ssize_t type_append(ProcReact_Type *type, void *state, int fd)
{
    Job *job = state;
    (void)type;
    if (g_run->opt.line_buffer)
        return emit_line_buffered(g_run, job, STDOUT_FILENO, fd);
    return spool_read_from(&job->out, fd);
}

static void *type_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    (void)pid; /* the library reaps it: this type needs no wait */
    *status = PROCREACT_STATUS_OK;
    return state;
}

/* The type a job runs with. Its output grouped: our own, which reads into
 * the job's spool. With --ungroup nothing is read, and the library's own
 * output type lets the library reap the job in one waitid() (it shows a
 * custom type's finalize the child unreaped: a look, then a reap). */
ProcReact_Type job_output_type(const Run *r)
{
    ProcReact_Type t = {type_initialize, type_append, type_finalize, '\n'};
    return r->opt.ungroup ? procreact_create_output_type() : t;
}

void job_type_init(Run *r)
{
    g_run = r;
}
