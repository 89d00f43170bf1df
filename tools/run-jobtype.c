/* SPDX-License-Identifier: MIT */
/* procreact-run: where a job's stdout and stderr go (its slot's pipes, ours), and the result type it runs with. */
/*
 * Grouped output goes through two pipes per slot ({%}), made once and
 * reused by every job that runs in the slot: a job costs no pipe, no
 * close and no registration of a descriptor, only a read of each pipe
 * when it ends. The pipes stay pipes (not files) so that a job may reopen
 * /dev/stdout or /dev/stderr as it could in a terminal. A job ends only
 * once nothing else can write to its pipes: where a process of its group
 * outlives it (a background job that kept its stdout, say), the job takes
 * its slot's pipes and ends once they do, as with pipes of its own, while
 * the slot makes new ones and the run goes on.
 */
#define _GNU_SOURCE
#include "run-jobtype.h"
#include "run-emit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
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
    return emit_line_buffered(g_run, job, STDOUT_FILENO, fd);
}

static void *type_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    (void)pid; /* the library reaps it: this type needs no wait */
    *status = PROCREACT_STATUS_OK;
    return state;
}

/* The type a job runs with. With --line-buffer: our own, which prints the
 * job's stdout line by line as it comes. Otherwise nothing is read (grouped
 * output goes through the slot's pipes, --ungroup straight to ours), and the library's
 * own output type lets the library reap the job in one waitid() (it shows a
 * custom type's finalize the child unreaped: a look, then a reap). */
ProcReact_Type job_output_type(const Run *r)
{
    ProcReact_Type t = {type_initialize, type_append, type_finalize, '\n'};
    return r->opt.line_buffer ? t : procreact_create_output_type();
}

void job_type_init(Run *r)
{
    g_run = r;
}

/* A pipe whose read end (ours) does not block; its write end (the job's)
 * does. 0, or -1 with errno. */
static int make_pipe(int ends[2])
{
    if (pipe2(ends, O_CLOEXEC) != 0)
        return -1;
    fcntl(ends[0], F_SETFL, O_NONBLOCK);
    return 0;
}

/* The slot's pipes, made where it has none yet; NULL with errno. */
static SlotPipes *slot_pipes(Run *r, unsigned int slot)
{
    if (slot > r->max_slot_pipes) {
        r->slot_pipes = xrealloc(r->slot_pipes, ((size_t)slot + 1) * sizeof *r->slot_pipes);
        for (unsigned int i = r->max_slot_pipes + 1; i <= slot; i++)
            r->slot_pipes[i] = (SlotPipes){{-1, -1}, {-1, -1}};
        r->max_slot_pipes = slot;
    }
    SlotPipes *p = &r->slot_pipes[slot];
    int *ends[2] = {p->out, p->err};
    for (int i = 0; i < 2; i++)
        if (ends[i][0] < 0 && make_pipe(ends[i]) != 0)
            return NULL;
    return p;
}

/* --line-buffer: stdout through the library (our type), stderr through a
 * pipe of the job's own that the run's loop reads. */
static int give_line_pipes(Job *job, ProcReact_Command *cmd, int *child_err)
{
    int err_pipe[2];
    if (make_pipe(err_pipe) != 0)
        return errno;
    job->err_fd = err_pipe[0];
    *child_err = err_pipe[1];
    procreact_command_set_stdout(cmd, PROCREACT_OUTPUT_CAPTURE, -1);
    procreact_command_set_stderr(cmd, PROCREACT_OUTPUT_FD, err_pipe[1]);
    return 0;
}

int job_output_setup(Run *r, Job *job, ProcReact_Command *cmd, int *child_err)
{
    if (r->opt.line_buffer)
        return give_line_pipes(job, cmd, child_err);
    if (r->opt.ungroup) {
        procreact_command_set_stdout(cmd, PROCREACT_OUTPUT_INHERIT, -1);
        procreact_command_set_stderr(cmd, PROCREACT_OUTPUT_INHERIT, -1);
        return 0;
    }
    const SlotPipes *p = slot_pipes(r, job->slot);
    if (p == NULL)
        return errno;
    procreact_command_set_stdout(cmd, PROCREACT_OUTPUT_FD, p->out[1]);
    procreact_command_set_stderr(cmd, PROCREACT_OUTPUT_FD, p->err[1]);
    return 0;
}

size_t job_output_fds(const Run *r, const Job *job, int fds[2])
{
    size_t n = 0;
    if (job->drain[0] >= 0 || job->drain[1] >= 0) {
        for (int i = 0; i < 2; i++)
            if (job->drain[i] >= 0)
                fds[n++] = job->drain[i];
        return n;
    }
    if (r->opt.line_buffer) {
        fds[0] = job->err_fd;
        return job->err_fd >= 0;
    }
    if (r->opt.ungroup || job->slot > r->max_slot_pipes || r->slot_pipes[job->slot].out[0] < 0)
        return 0;
    fds[0] = r->slot_pipes[job->slot].out[0];
    fds[1] = r->slot_pipes[job->slot].err[0];
    return 2;
}

/* Reads what @p fd has ready into the job's spool for it: its stdout's
 * (the slot's pipe, or the first it drains) or its stderr's. */
static ssize_t read_grouped(Run *r, Job *job, int fd)
{
    const int is_out = job->drain[0] >= 0 || job->drain[1] >= 0 ? fd == job->drain[0]
                                                                : fd == r->slot_pipes[job->slot].out[0];
    return spool_read_from(is_out ? &job->out : &job->err, fd);
}

/* Reads what the job's @p fd has ready; 1 at its end (or a failure to read it). */
static int read_some(Run *r, Job *job, int fd)
{
    ssize_t n = r->opt.line_buffer ? emit_line_buffered(r, job, STDERR_FILENO, fd) : read_grouped(r, job, fd);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

void job_output_read(Run *r, Job *job, int fd)
{
    const int ended = read_some(r, job, fd);
    if (ended && fd == job->err_fd) {
        close(job->err_fd);
        job->err_fd = -1;
    }
    for (int i = 0; ended && i < 2; i++)
        if (fd == job->drain[i]) {
            close(fd);
            job->drain[i] = -1;
            if (job->drain[1 - i] < 0)
                run_drained(r, job);
        }
}

int job_output_collect(Run *r, Job *job)
{
    while (job->err_fd >= 0) /* --line-buffer: what the job wrote to stderr before it ended */
        job_output_read(r, job, job->err_fd);
    int fds[2];
    if (r->opt.line_buffer || job_output_fds(r, job, fds) == 0)
        return 1;
    for (int i = 0; i < 2; i++) { /* what it wrote: nothing else writes there now, but ... */
        ssize_t n;
        do
            n = read_grouped(r, job, fds[i]);
        while (n > 0 || (n < 0 && errno == EINTR));
    }
    /* ... a process of its group that lives on (the job was reaped) may:
     * then the job takes the pipes, which end when that process is done,
     * and the slot makes new ones for its next job. */
    if (job->pid <= 0 || (kill(-job->pid, 0) != 0 && errno != EPERM))
        return 1;
    SlotPipes *p = &r->slot_pipes[job->slot];
    close(p->out[1]);
    close(p->err[1]);
    job->drain[0] = p->out[0];
    job->drain[1] = p->err[0];
    *p = (SlotPipes){{-1, -1}, {-1, -1}};
    return 0;
}

void job_output_free(Run *r)
{
    for (unsigned int i = 1; i <= r->max_slot_pipes; i++) {
        const SlotPipes *p = &r->slot_pipes[i];
        const int fds[4] = {p->out[0], p->out[1], p->err[0], p->err[1]};
        for (int k = 0; k < 4; k++)
            if (fds[k] >= 0)
                close(fds[k]);
    }
    free(r->slot_pipes);
    r->slot_pipes = NULL;
    r->max_slot_pipes = 0;
}
