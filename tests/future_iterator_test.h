/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the future iterator tests (test_future_iterator*.c):
 * children that follow a plan (write, close, pause, write, exit or die by
 * a signal), and a context that spawns them, fails every n-th on purpose
 * and records every completion, its order and what ran meanwhile.
 */
#ifndef PROCREACT_FUTURE_ITERATOR_TEST_H
#define PROCREACT_FUTURE_ITERATOR_TEST_H

#include "test.h"

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_types.h>

#define MAX_CHILDREN 32

/* What one child does: optionally write, close its pipe, pause, write
 * again, then exit with a code or die by a signal. */
typedef struct {
    const char *first;
    int close_early;
    long pause_ms;
    const char *second;
    int exit_code;
    int signo;
} ChildPlan;

typedef struct {
    const ChildPlan *plans;
    int total;
    int next_index;
    int fail_every; /* > 0: every n-th element is a failed future */
    ProcReact_FutureIterator *it;
    ProcReact_Type type;
    pid_t pids[MAX_CHILDREN];
    int completed;
    int order[MAX_CHILDREN];
    int done[MAX_CHILDREN];
    ProcReact_Status statuses[MAX_CHILDREN];
    char *results[MAX_CHILDREN];
    /* At completion k: which other children had exited (bit per index). */
    unsigned long exited_when_completed[MAX_CHILDREN];
    unsigned running_when_completed[MAX_CHILDREN];
    unsigned max_running;
    int fork_fails;
} Ctx;

static inline void run_plan(int fd, const ChildPlan *plan)
{
    t_child_quiet();
    if (plan->first != NULL && t_write_str(fd, plan->first) != 0)
        _exit(120);
    if (plan->close_early)
        close(fd);
    t_sleep_ms(plan->pause_ms);
    if (!plan->close_early && plan->second != NULL && t_write_str(fd, plan->second) != 0)
        _exit(121);
    if (plan->signo != 0)
        t_die_by_signal(plan->signo);
    _exit(plan->exit_code);
}

static inline ProcReact_bool ctx_has_next(void *data)
{
    Ctx *ctx = (Ctx *)data;
    return ctx->next_index < ctx->total;
}

static inline ProcReact_Future ctx_next(void *data)
{
    Ctx *ctx = (Ctx *)data;
    const int index = ctx->next_index++;
    ProcReact_Future future;
    if (ctx->fail_every > 0 && index % ctx->fail_every == ctx->fail_every - 1) {
        /* A failed future: a type refused by procreact_initialize_future()
         * on odd failures, a hand-built pid -1 future on even ones. */
        if (index % 2) {
            ProcReact_Type broken = ctx->type;
            broken.append = NULL;
            future = procreact_initialize_future(broken);
        } else {
            memset(&future, 0, sizeof future);
            future.pid = -1;
            future.fd = -1;
            future.type = ctx->type;
        }
        ctx->pids[index] = -1;
        return future;
    }
    if (ctx->it != NULL && ctx->it->running_processes + 1 > ctx->max_running)
        ctx->max_running = ctx->it->running_processes + 1;
    future = procreact_initialize_future(ctx->type);
    if (future.pid == 0)
        run_plan(future.fd, &ctx->plans[index]);
    ctx->pids[index] = future.pid;
    return future;
}

static inline void ctx_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Ctx *ctx = (Ctx *)data;
    int index = -1, i;
    unsigned long exited = 0;
    if (future->pid <= 0) {
        /* A failed future is completed at once by the spawn that made it. */
        index = ctx->next_index - 1;
        ++ctx->fork_fails;
    } else {
        for (i = 0; i < ctx->next_index; ++i)
            if (ctx->pids[i] == future->pid)
                index = i;
    }
    if (index < 0 || ctx->done[index]) {
        /* Unknown or completed twice: recorded so that counts fail. */
        ctx->order[ctx->completed++ % MAX_CHILDREN] = -1;
        return;
    }
    for (i = 0; i < ctx->next_index; ++i)
        if (i != index && ctx->pids[i] > 0 && (ctx->done[i] || t_child_has_exited(ctx->pids[i])))
            exited |= 1ul << i;
    ctx->done[index] = 1;
    ctx->exited_when_completed[index] = exited;
    ctx->running_when_completed[index] = ctx->it != NULL ? ctx->it->running_processes : 0;
    ctx->statuses[index] = status;
    ctx->results[index] = (char *)future->result;
    ctx->order[ctx->completed++] = index;
}

static inline void ctx_init(Ctx *ctx, ProcReact_FutureIterator *it, const ChildPlan *plans, int total)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->plans = plans;
    ctx->total = total;
    ctx->it = it;
    ctx->type = procreact_create_string_type();
    *it = procreact_initialize_future_iterator(ctx_has_next, ctx_next, ctx_complete, ctx);
}

static inline void ctx_free(Ctx *ctx)
{
    int i;
    for (i = 0; i < MAX_CHILDREN; ++i)
        free(ctx->results[i]);
}

#endif /* PROCREACT_FUTURE_ITERATOR_TEST_H */
