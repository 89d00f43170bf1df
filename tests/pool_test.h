/* SPDX-License-Identifier: MIT */
/*
 * Shared by the pool tests: a worker function driven by its requests, and
 * pool helpers.
 */
#ifndef PROCREACT_POOL_TEST_H
#define PROCREACT_POOL_TEST_H

#include "test.h"

#include <procreact_pool.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Requests: "echo:TEXT" replies TEXT; "sleep:MS" sleeps, replies "slept";
 * "crash" dies by SIGSEGV; "exit:N" exits with N; "fail:N" returns N with
 * the reply "failed"; "pid" replies the worker's pid; "grow:MIB" keeps MIB
 * more MiB resident; "big:N" replies N bytes; "hang" sleeps for good;
 * "deaf" sleeps for good with SIGTERM blocked; "init" replies what
 * t_pool_init() left in the worker. */
static int t_pool_inited = 0;

static inline int t_pool_init(void *data)
{
    t_pool_inited += 1 + (data != NULL);
    return 0;
}

static inline int t_pool_function(void *data, const void *request, size_t size, void **reply, size_t *reply_size)
{
    char buf[64];
    const char *r = (const char *)request;
    const char *text = NULL;
    size_t n = 0;
    int rc = 0;
    (void)data;
    if (size >= 5 && memcmp(r, "echo:", 5) == 0) {
        text = r + 5;
        n = size - 5;
    } else if (size >= 6 && memcmp(r, "sleep:", 6) == 0) {
        memcpy(buf, r + 6, size - 6 < 20 ? size - 6 : 20);
        buf[size - 6 < 20 ? size - 6 : 20] = '\0';
        t_sleep_ms(atol(buf));
        text = "slept";
        n = 5;
    } else if (size == 5 && memcmp(r, "crash", 5) == 0) {
        signal(SIGSEGV, SIG_DFL); /* not the test framework's handler */
        raise(SIGSEGV);
    } else if (size >= 5 && memcmp(r, "exit:", 5) == 0) {
        memcpy(buf, r + 5, size - 5 < 20 ? size - 5 : 20);
        buf[size - 5 < 20 ? size - 5 : 20] = '\0';
        _exit(atoi(buf));
    } else if (size >= 5 && memcmp(r, "fail:", 5) == 0) {
        memcpy(buf, r + 5, size - 5 < 20 ? size - 5 : 20);
        buf[size - 5 < 20 ? size - 5 : 20] = '\0';
        rc = atoi(buf);
        text = "failed";
        n = 6;
    } else if (size == 3 && memcmp(r, "pid", 3) == 0) {
        n = (size_t)snprintf(buf, sizeof buf, "%ld", (long)getpid());
        text = buf;
    } else if (size >= 5 && memcmp(r, "grow:", 5) == 0) {
        size_t mib, i;
        char *block;
        memcpy(buf, r + 5, size - 5 < 20 ? size - 5 : 20);
        buf[size - 5 < 20 ? size - 5 : 20] = '\0';
        mib = (size_t)atol(buf);
        block = (char *)malloc(mib << 20);
        if (block != NULL)
            for (i = 0; i < (mib << 20); i += 4096)
                block[i] = 1; /* kept: the worker grows */
        text = "grown";
        n = 5;
    } else if (size >= 4 && memcmp(r, "big:", 4) == 0) {
        memcpy(buf, r + 4, size - 4 < 20 ? size - 4 : 20);
        buf[size - 4 < 20 ? size - 4 : 20] = '\0';
        n = (size_t)atol(buf);
        *reply = calloc(1, n ? n : 1);
        if (*reply == NULL)
            return 12;
        *reply_size = n;
        return 0;
    } else if (size == 4 && memcmp(r, "init", 4) == 0) {
        n = (size_t)snprintf(buf, sizeof buf, "%d", t_pool_inited);
        text = buf;
    } else if (size == 4 && memcmp(r, "deaf", 4) == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        for (;;)
            pause();
    } else if (size == 4 && memcmp(r, "hang", 4) == 0) {
        for (;;)
            pause();
    }
    if (text != NULL) {
        *reply = malloc(n ? n : 1);
        if (*reply == NULL)
            return 12;
        memcpy(*reply, text, n);
        *reply_size = n;
    }
    return rc;
}

/* A configuration of @p workers forked workers running t_pool_function(). */
static inline ProcReact_PoolConfig *t_pool_config(unsigned workers)
{
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    assert_non_null(config);
    assert_int_equal(procreact_pool_config_set_function(config, NULL, t_pool_function, NULL), 0);
    assert_int_equal(procreact_pool_config_set_workers(config, workers), 0);
    return config;
}

/* The pool made from @p config, which is freed. */
static inline ProcReact_Pool *t_pool_make(ProcReact_PoolConfig *config)
{
    ProcReact_Pool *pool = procreact_pool_new(config);
    procreact_pool_config_free(config);
    assert_non_null(pool);
    return pool;
}

static inline ProcReact_Pool *t_pool_new(unsigned workers)
{
    return t_pool_make(t_pool_config(workers));
}

static inline ProcReact_Task *t_submit(ProcReact_Pool *pool, const char *request, double deadline)
{
    ProcReact_Task *t = procreact_pool_submit(pool, request, strlen(request), deadline);
    assert_non_null(t);
    return t;
}

/* Whether @p task's reply is @p text. */
static inline int t_reply_is(const ProcReact_Task *task, const char *text)
{
    size_t n = 0;
    const void *p = procreact_task_reply(task, &n);
    return n == strlen(text) && (n == 0 || memcmp(p, text, n) == 0);
}

/* A thread's wait for one task (run by t_waiter_run()): its result, how
 * long it took and the status it saw then. */
typedef struct {
    ProcReact_Task *task;
    int timeout_ms;
    int rc;
    double took;
    ProcReact_TaskStatus status;
} TWaiter;

static inline void *t_waiter_run(void *arg)
{
    TWaiter *w = (TWaiter *)arg;
    const double start = t_now();
    w->rc = procreact_task_wait(w->task, w->timeout_ms);
    w->took = t_now() - start;
    w->status = procreact_task_status(w->task);
    return NULL;
}

/* The pids of this process's children (every thread's). */
static inline int t_children(pid_t *out, int max)
{
    char path[300], buf[64];
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        f = fopen(path, "re");
        if (f == NULL)
            continue;
        while (n < max && fscanf(f, "%63s", buf) == 1)
            out[n++] = (pid_t)atol(buf);
        fclose(f);
    }
    closedir(d);
    return n;
}

#endif /* PROCREACT_POOL_TEST_H */
