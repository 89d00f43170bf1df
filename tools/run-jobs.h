/* SPDX-License-Identifier: MIT */
/* procreact-run: the run's state, and each job from its items to its printed result. */
#ifndef PROCREACT_RUN_JOBS_H
#define PROCREACT_RUN_JOBS_H

#include <stddef.h>
#include <sys/types.h>

#include <procreact_future_iterator.h>

#include "run-input.h"
#include "run-joblog.h"
#include "run-options.h"
#include "run-spool.h"
#include "run-template.h"
#include "run-util.h"

/* Descriptors a running job may hold: both ends of its slot's stdout and
 * stderr pipes, a spool file for each stream, and the library's pidfd. */
#define RUN_FDS_PER_JOB 7

typedef struct Job {
    size_t seq;           /* the job number {#}, from 1 */
    size_t order;         /* the order it started in, from 0 (-k prints in it) */
    unsigned int slot;    /* {%}, from 1 */
    unsigned int tries;
    ArgSet items;
    char *block;          /* --pipe: the job's standard input */
    size_t block_len;
    char *command;        /* as a shell would read it */
    char *tag;            /* --tag: the items and a tab */
    pid_t pid;
    int err_fd;           /* --line-buffer: our end of the job's stderr pipe, -1 */
    int drain[2];         /* ended, a process of its group writes on: its pipes' read ends, -1 */
    size_t run_index;     /* where it is in Run.running */
    Spool out, err;
    Buf line_out, line_err; /* --line-buffer: a line not complete yet */
    unsigned long long line_received; /* --line-buffer: stdout bytes read */
    double start_real;
    int exited, exit_code, signal, timed_out, cancelled, exec_errno;
    double wall_s, cpu_s;
    long max_rss_kib;
    int failed;
    struct Job *next;     /* in the retry queue */
} Job;

/* Grouped output: a slot's stdout and stderr pipes, both ends ([0] read,
 * [1] write; -1 while there are none), which the slot's jobs reuse. */
typedef struct {
    int out[2], err[2];
} SlotPipes;

typedef struct {
    Options opt;
    Template tpl;
    Input *in;
    unsigned int limit;
    unsigned long long fd_budget; /* descriptors for jobs, running or waiting (-k) */
    ProcReact_FutureIterator it;
    Joblog *joblog;

    ArgSet ready;         /* the next items, fetched by has_next */
    char *ready_block;    /* --pipe: the next block */
    size_t ready_block_len;
    int have_ready;
    int input_ended;
    int need_input;       /* has_next found no complete item: wait for input_fd() */
    double start_after;   /* --delay: no job starts before this (monotonic seconds) */
    int delaying;         /* has_next waits for start_after */
    Job *retry_head, *retry_tail;
    size_t next_seq;
    Job *spawning;

    Job **running;
    size_t nrunning, running_cap;
    Job **draining;       /* reaped, their output not all in (see drain) */
    size_t ndraining;
    unsigned int *free_slots;
    size_t nfree_slots;
    unsigned int max_slot;
    SlotPipes *slot_pipes; /* by slot: [1] to [max_slot_pipes] */
    unsigned int max_slot_pipes;

    Job **finished;       /* -k: a ring by order, waiting to be printed */
    size_t finished_cap;  /* a power of two */
    size_t next_order, next_to_print;

    size_t done, failed, succeeded;
    size_t held_fds;      /* spool files of finished jobs waiting for their turn (-k) */
    int halted;
    int interrupted;      /* the signal that stopped the run, or 0 */
    int output_gone;      /* our output failed: stopping */
    double start;
} Run;

/* Sets up the iterator and the run's parts after the options are parsed. */
void run_init(Run *r);
/* Ends a job in Run.draining whose output is all in. */
void run_drained(Run *r, Job *job);
/* Prints what is left once no job runs (queued retries, -k leftovers). */
void run_finish(Run *r);
/* Stops starting jobs and stops the running ones (stop sequence). */
void run_stop(Run *r);
/* Frees a job and all it holds. */
void job_free(Job *job);
/* Sends SIGKILL to every running job's process group, at once. */
void run_kill(Run *r);
/* Frees what is left once the iterator is destroyed. */
void run_free(Run *r);

#endif
