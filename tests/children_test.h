/* SPDX-License-Identifier: MIT */
/*
 * Child processes for the unit tests, included by test.h: checks on this
 * process's children, stand-in children that exec a program, and, where
 * procreact_pid_iterator.h came first, the planned children of a pid
 * iterator.
 *
 * Every helper is static, as in test.h.
 */
#ifndef PROCREACT_CHILDREN_TEST_H
#define PROCREACT_CHILDREN_TEST_H

#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
/* -------------------------------------------------------------- processes */

/** True while @p pid names a process (a zombie counts). */
static inline int t_pid_exists(pid_t pid)
{
    return kill(pid, 0) == 0 || errno != ESRCH;
}

/** True when @p pid, a child of ours, has exited (without reaping it). */
static inline int t_child_has_exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
        return 1; /* not a child any more: it is gone */
    return info.si_pid != 0;
}

/** True when this process has no children at all (running or zombie). */
static inline int t_no_children(void)
{
    errno = 0;
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/** Waits for @p pid (resuming after EINTR); returns its wait status or -1. */
static inline int t_reap(pid_t pid)
{
    int wstatus = 0;
    pid_t r;
    do
        r = waitpid(pid, &wstatus, 0);
    while (r < 0 && errno == EINTR);
    return r == pid ? wstatus : -1;
}


/**
 * Forks a stand-in child that execs /bin/true (@p code 0) or `/bin/sh -c
 * 'exit CODE'` and so exits with @p code. Stand-ins exec rather than
 * `_exit()`: under valgrind a forked child that exits runs the leak check on
 * a copy of the test's heap, and a block referenced only from a register of
 * the parent's frame counts as lost there, which turns the child's exit
 * status into --error-exitcode. An exec'd program is not traced.
 */
static inline pid_t t_fork_exiting(int code)
{
    char script[32];
    pid_t pid;
    snprintf(script, sizeof script, "exit %d", code);
    pid = fork();
    if (pid == 0) {
        if (code == 0)
            execl("/bin/true", "true", (char *)NULL);
        else
            execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/** A stand-in child that exits with code 0 (see t_fork_exiting()). */
static inline pid_t t_fork_true(void) { return t_fork_exiting(0); }

/**
 * In a forked child: writes @p text to @p fd after @p delay_ms milliseconds
 * and exits with 0, as a program (`/bin/sh` running `printf`) so that no
 * leak check sees the exit (see t_fork_exiting()). Never returns.
 */
static inline void t_exec_writer(int fd, const char *text, long delay_ms)
{
    char script[64];
    if (delay_ms > 0)
        snprintf(script, sizeof script, "sleep %ld.%03ld; printf %%s \"$1\"", delay_ms / 1000, delay_ms % 1000);
    else
        snprintf(script, sizeof script, "printf %%s \"$1\"");
    if (fd != STDOUT_FILENO) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    execl("/bin/sh", "sh", "-c", script, "sh", text, (char *)NULL);
    _exit(127);
}

/**
 * Forks a stand-in child that sleeps @p ms milliseconds and exits with
 * @p code: `/bin/sh -c 'sleep S; exit CODE'`, or `sleep S` for code 0 (see
 * t_fork_exiting()).
 */
static inline pid_t t_fork_sleeper(long ms, int code)
{
    char seconds[32], script[64];
    pid_t pid;
    if (ms <= 0)
        return t_fork_exiting(code);
    snprintf(seconds, sizeof seconds, "%ld.%03ld", ms / 1000, ms % 1000);
    snprintf(script, sizeof script, "sleep %s; exit %d", seconds, code);
    pid = fork();
    if (pid == 0) {
        if (code == 0) /* one exec less: sleep itself */
            execl("/bin/sleep", "sleep", seconds, (char *)NULL);
        else
            execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/** Kills and reaps a child of ours, ignoring whether it still runs. */
static inline void t_kill_and_reap(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        t_reap(pid);
    }
}

/** Makes the current process (a child) end by @p signo without a core file. */
static inline void t_die_by_signal(int signo)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(signo, SIG_DFL);
    raise(signo);
    _exit(99); /* not reached */
}

/* ------------------------------------------- pid iterator bookkeeping */

#ifdef PROCREACT_PID_ITERATOR_H
#define T_MAX_PIDS 32

/** What one child of a pid iterator does. */
typedef struct {
    long sleep_ms;
    int exit_code;
    int signo;
} PidPlan;

/**
 * Client data for a pid iterator: @c next forks the planned children,
 * @c complete records every completion. pid_t values special to @c next:
 * a plan with exit_code -1000 makes @c next return -1 (failed fork),
 * -1001 makes it return 0, -1002 makes it return our parent's pid.
 */
typedef struct {
    const PidPlan *plans;
    int total;
    int next_index;
    ProcReact_PidIterator *it;
    pid_t pids[T_MAX_PIDS];
    unsigned max_running;
    int completed;
    pid_t done_pid[T_MAX_PIDS];
    ProcReact_Status done_status[T_MAX_PIDS];
    int done_result[T_MAX_PIDS];
} PidCtx;

static inline ProcReact_bool t_pid_has_next(void *data)
{
    PidCtx *ctx = (PidCtx *)data;
    return ctx->next_index < ctx->total;
}

static inline pid_t t_pid_next(void *data)
{
    PidCtx *ctx = (PidCtx *)data;
    const int index = ctx->next_index++;
    const PidPlan *plan = &ctx->plans[index];
    pid_t pid;
    if (plan->exit_code == -1000)
        return ctx->pids[index] = -1;
    if (plan->exit_code == -1001)
        return ctx->pids[index] = 0;
    if (plan->exit_code == -1002)
        return ctx->pids[index] = getppid();
    if (ctx->it != NULL && ctx->it->running_processes + 1 > ctx->max_running)
        ctx->max_running = ctx->it->running_processes + 1;
    pid = fork();
    if (pid == 0) {
        /* A program, so that no leak check sees the exit (see t_fork_exiting()). */
        char script[96];
        signal(SIGALRM, SIG_IGN); /* stays ignored across exec */
        if (plan->signo != 0)
            snprintf(script, sizeof script, "sleep %ld.%03ld; ulimit -c 0; kill -%d $$", plan->sleep_ms / 1000,
                     plan->sleep_ms % 1000, plan->signo);
        else
            snprintf(script, sizeof script, "sleep %ld.%03ld; exit %d", plan->sleep_ms / 1000, plan->sleep_ms % 1000,
                     plan->exit_code);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    ctx->pids[index] = pid;
    return pid;
}

static inline void t_pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    PidCtx *ctx = (PidCtx *)data;
    if (ctx->completed < T_MAX_PIDS) {
        ctx->done_pid[ctx->completed] = pid;
        ctx->done_status[ctx->completed] = status;
        ctx->done_result[ctx->completed] = result;
    }
    ++ctx->completed;
}

static inline void t_pid_ctx_init(PidCtx *ctx, ProcReact_PidIterator *it, const PidPlan *plans, int total,
                                  ProcReact_RetrieveResult retrieve)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->plans = plans;
    ctx->total = total;
    ctx->it = it;
    *it = procreact_initialize_pid_iterator(t_pid_has_next, t_pid_next, retrieve, t_pid_complete, ctx);
}

/** Index of the completion of @p pid, or -1; fails the test when it completed twice. */
static inline int t_pid_completion(const PidCtx *ctx, pid_t pid)
{
    int i, found = -1;
    for (i = 0; i < ctx->completed && i < T_MAX_PIDS; ++i) {
        if (ctx->done_pid[i] == pid) {
            if (found >= 0)
                fail_msg("pid %d completed twice", (int)pid);
            found = i;
        }
    }
    return found;
}

/** Asserts that every completion is one of this context's own children, each exactly once. */
static inline void t_pid_assert_own_completions(const PidCtx *ctx)
{
    int i, j;
    for (i = 0; i < ctx->completed; ++i) {
        int own = 0;
        for (j = 0; j < ctx->next_index; ++j)
            if (ctx->pids[j] == ctx->done_pid[i])
                own = 1;
        if (!own)
            fail_msg("completion of pid %d, which is not this iterator's", (int)ctx->done_pid[i]);
    }
    for (j = 0; j < ctx->next_index; ++j)
        if (ctx->pids[j] > 0)
            (void)t_pid_completion(ctx, ctx->pids[j]);
}
#endif /* PROCREACT_PID_ITERATOR_H */

#endif /* PROCREACT_CHILDREN_TEST_H */
