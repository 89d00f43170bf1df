/* SPDX-License-Identifier: MIT */
/* procreact-run: the run's state, and each job from its items to its printed result. */
#define _GNU_SOURCE
#include "run-jobs.h"
#include "run-emit.h"
#include "run-jobtype.h"
#include "run-output.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_spawn.h>

/* ------------------------------------------------------------ bookkeeping */

static void track(Run *r, Job *job)
{
    if (r->nrunning == r->running_cap) {
        r->running_cap = r->running_cap ? r->running_cap * 2 : 16;
        r->running = xrealloc(r->running, r->running_cap * sizeof *r->running);
    }
    job->run_index = r->nrunning;
    r->running[r->nrunning++] = job;
}

static void untrack(Run *r, Job *job)
{
    Job *last = r->running[--r->nrunning];
    r->running[job->run_index] = last;
    last->run_index = job->run_index;
}

static unsigned int take_slot(Run *r)
{
    return r->nfree_slots > 0 ? r->free_slots[--r->nfree_slots] : ++r->max_slot;
}

static void give_slot(Run *r, unsigned int slot)
{
    r->free_slots = xrealloc(r->free_slots, (r->nfree_slots + 1) * sizeof *r->free_slots);
    r->free_slots[r->nfree_slots++] = slot;
}

static void close_stderr(Job *job)
{
    if (job->err_fd >= 0)
        close(job->err_fd);
    job->err_fd = -1;
}

void job_free(Job *job)
{
    close_stderr(job);
    for (int i = 0; i < 2; i++)
        if (job->drain[i] >= 0)
            close(job->drain[i]);
    spool_free(&job->out);
    spool_free(&job->err);
    buf_free(&job->line_out);
    buf_free(&job->line_err);
    argset_free(&job->items);
    free(job->block);
    free(job->command);
    free(job->tag);
    free(job);
}

/* ------------------------------------------------------------ the iterator */

static ProcReact_bool has_next(void *data)
{
    Run *r = data;
    r->need_input = 0;
    r->delaying = 0;
    if (r->halted || r->interrupted || r->output_gone)
        return 0;
    if (r->opt.delay > 0 && monotonic_s() < r->start_after) {
        r->delaying = 1;
        return 0;
    }
    if (r->retry_head != NULL)
        return 1;
    if (r->held_fds > 0 && (r->nrunning + 1) * RUN_FDS_PER_JOB + r->held_fds > r->fd_budget)
        return 0; /* -k: finished jobs hold spool files until the ones before them end */
    while (!r->have_ready && !r->input_ended) {
        int got = r->opt.pipe ? input_next_block(r->in, r->opt.block, &r->ready_block, &r->ready_block_len)
                              : input_next(r->in, &r->ready);
        if (got == 0) {
            r->need_input = 1;
            return 0;
        }
        if (got < 0) {
            r->input_ended = 1;
            break;
        }
        r->next_seq++;
        if (joblog_has(r->joblog, r->next_seq)) {
            argset_free(&r->ready); /* --resume: done before */
            free(r->ready_block);
            r->ready_block = NULL;
            continue;
        }
        r->have_ready = 1;
    }
    return r->have_ready;
}

static Job *new_job(Run *r)
{
    if (r->retry_head != NULL) {
        Job *job = r->retry_head;
        r->retry_head = job->next;
        if (r->retry_head == NULL)
            r->retry_tail = NULL;
        job->next = NULL;
        return job;
    }
    Job *job = xcalloc(1, sizeof *job);
    job->seq = r->next_seq;
    job->order = r->next_order++;
    job->items = r->ready;
    job->block = r->ready_block;
    job->block_len = r->ready_block_len;
    r->have_ready = 0;
    memset(&r->ready, 0, sizeof r->ready);
    r->ready_block = NULL;
    spool_init(&job->out);
    spool_init(&job->err);
    job->err_fd = job->drain[0] = job->drain[1] = -1;
    return job;
}

/* --tag and --tagstring: what goes before each line of the job's output. */
static void make_tag(Run *r, Job *job)
{
    free(job->tag);
    job->tag = NULL;
    if (r->opt.tagstring != NULL) {
        Buf t = {0};
        char *text = template_expand(&r->tpl, r->opt.tagstring, &job->items, job->seq, job->slot);
        buf_str(&t, text);
        free(text);
        buf_add(&t, "\t", 1);
        job->tag = buf_take(&t);
    } else if (r->opt.tag) {
        Buf t = {0};
        for (size_t i = 0; i < job->items.count; i++) {
            if (i > 0)
                buf_add(&t, " ", 1);
            buf_str(&t, job->items.items[i]);
        }
        buf_add(&t, "\t", 1);
        job->tag = buf_take(&t);
    }
}

static ProcReact_Future next(void *data)
{
    Run *r = data;
    Job *job = new_job(r);
    job->slot = take_slot(r);
    job->tries++;
    job->err_fd = -1;
    make_tag(r, job);
    free(job->command);
    ArgSet none = {NULL, 0};
    const ArgSet *items = r->opt.no_items ? &none : &job->items;
    char **argv = template_argv(&r->tpl, items, job->seq, job->slot, &job->command);
    ProcReact_Command *cmd = procreact_command_new((const char *const *)argv);
    template_free_argv(argv);
    if (cmd == NULL)
        die_oom();
    int child_err = -1;
    procreact_command_set_new_process_group(cmd, 1);
    if (job->block != NULL && procreact_command_set_stdin_bytes(cmd, job->block, job->block_len) != 0)
        die_oom();
    /* Without its stdout and stderr the job fails as a spawn would, with why. */
    int spawn_errno = job_output_setup(r, job, cmd, &child_err);
    if (r->opt.verbose) {
        progress_clear(r);
        out_write(STDERR_FILENO, job->command, strlen(job->command));
        out_write(STDERR_FILENO, "\n", 1);
    }
    if (r->opt.delay > 0)
        r->start_after = monotonic_s() + r->opt.delay;
    r->spawning = job;
    job->start_real = realtime_s();
    ProcReact_Future future = {-1, -1, job_output_type(r), NULL, NULL};
    if (spawn_errno == 0) {
        future = procreact_command_spawn(cmd, job_output_type(r));
        spawn_errno = errno;
    }
    r->spawning = NULL;
    procreact_command_free(cmd);
    if (child_err >= 0)
        close(child_err);
    job->pid = future.pid;
    if (future.pid > 0) {
        if (r->opt.timeout > 0)
            procreact_future_set_timeout(&future, r->opt.timeout);
        procreact_future_set_stop(&future, SIGTERM, r->opt.kill_after);
    } else {
        job->exec_errno = spawn_errno;
        close_stderr(job);
    }
    track(r, job);
    r->spawning = job; /* a failed spawn completes at once: complete() finds it here */
    return future;
}

/* Counts the job and halts the run when --halt says so. */
static void count(Run *r, Job *job)
{
    r->done++;
    if (job->cancelled && r->halted)
        return; /* stopped by the halt itself: neither failed nor succeeded */
    if (job->failed)
        r->failed++;
    else
        r->succeeded++;
    const Options *o = &r->opt;
    if (o->halt_when == HALT_NEVER || r->halted)
        return;
    double n = (double)(o->halt_on_success ? r->succeeded : r->failed);
    int halt = o->halt_percent ? r->done >= 3 && n * 100.0 >= o->halt_count * (double)r->done : n >= o->halt_count;
    if (halt && (o->halt_on_success ? !job->failed : job->failed)) {
        r->halted = 1;
        if (o->halt_when == HALT_NOW)
            procreact_future_iterator_cancel(&r->it);
    }
}

static void finish(Run *r, Job *job);

static void complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    Job *job = NULL;
    ProcReact_ExitInfo info;
    (void)status;
    if (!r->opt.line_buffer) { /* the library's output type: an empty result, found by pid */
        ProcReact_BytesState *bytes = future->result;
        if (bytes != NULL)
            free(bytes->data);
        free(bytes);
        future->result = NULL;
    } else {
        job = future->result;
    }
    if (job == NULL && future->pid <= 0)
        job = r->spawning;
    for (size_t i = 0; job == NULL && i < r->nrunning; i++)
        if (r->running[i]->pid == future->pid)
            job = r->running[i];
    if (job == NULL)
        return; /* cannot happen: every future is tracked */
    untrack(r, job);
    give_slot(r, job->slot);
    if (procreact_future_info(future, &info) != 0) {
        memset(&info, 0, sizeof info);
        info.exec_errno = job->exec_errno;
    }
    free(info.stderr_data);
    job->exited = info.exited;
    job->exit_code = info.exited ? info.exit_code : -1;
    job->signal = info.signal;
    job->exec_errno = info.exec_errno;
    job->timed_out = (info.flags & PROCREACT_EXIT_TIMED_OUT) != 0;
    job->cancelled = (info.flags & PROCREACT_EXIT_CANCELLED) != 0;
    job->wall_s = info.wall_time;
    job->cpu_s = info.user_time + info.system_time;
    job->max_rss_kib = info.max_rss_kib;
    job->failed = job->exec_errno != 0 || !info.exited || info.exit_code != 0 || job->timed_out;
    if (job_output_collect(r, job)) {
        finish(r, job);
        return;
    }
    /* A process of its group writes on: the job ends with its output. */
    r->draining = xrealloc(r->draining, (r->ndraining + 1) * sizeof *r->draining);
    r->draining[r->ndraining++] = job;
}

void run_drained(Run *r, Job *job)
{
    for (size_t i = 0; i < r->ndraining; i++)
        if (r->draining[i] == job) {
            r->draining[i] = r->draining[--r->ndraining];
            finish(r, job);
            return;
        }
}

/* The end of a job whose output is all in: another try, or its result. */
static void finish(Run *r, Job *job)
{
    if (job->failed && job->tries < r->opt.retries && !r->halted && !r->interrupted && !r->output_gone) {
        /* Again, from a clean slate: only the last try is printed and logged. */
        spool_free(&job->out);
        spool_free(&job->err);
        job->line_out.len = job->line_err.len = 0;
        job->line_received = 0;
        job->exec_errno = 0;
        if (r->retry_tail != NULL)
            r->retry_tail->next = job;
        else
            r->retry_head = job;
        r->retry_tail = job;
        return;
    }
    count(r, job);
    if (r->joblog != NULL)
        joblog_add(r->joblog, job->seq, job->start_real, job->wall_s, spool_size(&job->out) + job->line_received,
                   job->exited ? job->exit_code : -1, job->signal, job->command);
    emit_finished(r, job);
}

void run_init(Run *r)
{
    job_type_init(r);
    template_init(&r->tpl, &r->opt);
    r->start = monotonic_s();
    r->it = procreact_initialize_future_iterator(has_next, next, complete, r);
    /* One spawning thread: next() keeps the job it spawns in the run
     * (r->spawning) and has_next reads the input that next consumes, so
     * has_next must not be asked while a next() waits in its spawn. */
    procreact_future_iterator_set_spawn_threads(&r->it, 1);
}

void run_finish(Run *r)
{
    /* Failed jobs queued for another try that the run stopped first. */
    while (r->retry_head != NULL) {
        Job *job = r->retry_head;
        r->retry_head = job->next;
        count(r, job);
        if (r->joblog != NULL)
            joblog_add(r->joblog, job->seq, job->start_real, job->wall_s, 0, job->exited ? job->exit_code : -1,
                       job->signal, job->command);
        emit_finished(r, job);
    }
    r->retry_tail = NULL;
    if (r->opt.keep_order)
        emit_drain(r);
}

void run_kill(Run *r)
{
    /* The children are not reaped yet (the iterator reaps them), so each
     * pid still names its own process group. */
    for (size_t i = 0; i < r->nrunning; i++)
        if (r->running[i]->pid > 0)
            kill(-r->running[i]->pid, SIGKILL);
    /* Reaped, but their groups live on (the drain holds them to their pipes). */
    for (size_t i = 0; i < r->ndraining; i++)
        kill(-r->draining[i]->pid, SIGKILL);
}

void run_stop(Run *r)
{
    procreact_future_iterator_cancel(&r->it);
    for (size_t i = 0; i < r->ndraining; i++) /* their groups, as the library stops a job's */
        kill(-r->draining[i]->pid, SIGTERM);
}

void run_free(Run *r)
{
    /* Only after an error: the iterator killed and reaped these already. */
    while (r->nrunning > 0) {
        Job *job = r->running[0];
        untrack(r, job);
        job_free(job);
    }
    while (r->retry_head != NULL) {
        Job *job = r->retry_head;
        r->retry_head = job->next;
        job_free(job);
    }
    while (r->ndraining > 0)
        job_free(r->draining[--r->ndraining]);
    free(r->draining);
    emit_free(r);
    job_output_free(r);
    argset_free(&r->ready);
    free(r->ready_block);
    free(r->running);
    free(r->free_slots);
    input_close(r->in);
    joblog_close(r->joblog);
}
