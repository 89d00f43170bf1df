/* SPDX-License-Identifier: MIT */
/*
 * The run shared by the exhaustion tests (test_exhaustion*.c): items
 * spawned as futures or as pids, held at a gate until all are spawned if
 * asked, and every completion checked and counted.
 */
#ifndef PROCREACT_EXHAUSTION_RUN_H
#define PROCREACT_EXHAUSTION_RUN_H

#include "hard.h"

#include <procreact_future.h>
#include <procreact_pid.h>
#include <procreact_types.h>

#define MAX_ITEMS 512

typedef struct {
    long next, total;
    long ok, fork_fail, wrong;
    signed char outcome[MAX_ITEMS]; /* 1 ok, 2 fork failure, -1 wrong */
    int gate;                       /* read end the children wait on, or -1 */
    int gate_write;                 /* closed by has_next once all are spawned */
} Run;

static inline void run_init(Run *r, long total)
{
    memset(r, 0, sizeof *r);
    r->total = total;
    r->gate = r->gate_write = -1;
}

static inline ProcReact_bool has_next(void *data)
{
    Run *r = data;
    if (r->next < r->total)
        return 1;
    if (r->gate_write >= 0) { /* everything is spawned: let the children go */
        close(r->gate_write);
        r->gate_write = -1;
    }
    return 0;
}

static inline void wait_gate(const Run *r)
{
    if (r->gate < 0)
        return;
    close(r->gate_write);
    char c;
    while (read(r->gate, &c, 1) < 0 && errno == EINTR)
        ;
}

static inline ProcReact_Future future_next(void *data)
{
    Run *r = data;
    const long i = r->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0) {
        wait_gate(r);
        char buf[32];
        int len = snprintf(buf, sizeof buf, "item %ld", i);
        _exit(hard_write_all(f.fd, buf, (size_t)len) == 0 ? 0 : 1);
    }
    if (f.pid < 0)
        assert_int_equal(f.fd, -1);
    return f;
}

static inline void future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    char *s = future->result;
    if (status == PROCREACT_STATUS_FORK_FAIL) {
        /* failed spawns complete synchronously, inside the spawn of the
         * item that next() just made */
        const long i = r->next - 1;
        if (s == NULL && future->pid == -1 && r->outcome[i] == 0) {
            r->outcome[i] = 2;
            r->fork_fail++;
        } else {
            r->wrong++;
        }
    } else if (status == PROCREACT_STATUS_OK && s != NULL && strncmp(s, "item ", 5) == 0) {
        long i = strtol(s + 5, NULL, 10);
        if (i >= 0 && i < r->total && r->outcome[i] == 0) {
            r->outcome[i] = 1;
            r->ok++;
        } else {
            r->wrong++;
        }
    } else {
        r->wrong++;
    }
    free(s);
}

static inline pid_t pid_next(void *data)
{
    Run *r = data;
    const long i = r->next++;
    pid_t pid = fork();
    if (pid == 0) {
        wait_gate(r);
        _exit((int)(i % 200));
    }
    return pid;
}

static inline void pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Run *r = data;
    if (status == PROCREACT_STATUS_FORK_FAIL) {
        const long i = r->next - 1;
        if (pid == -1 && result == -1 && r->outcome[i] == 0) {
            r->outcome[i] = 2;
            r->fork_fail++;
        } else {
            r->wrong++;
        }
    } else if (status == PROCREACT_STATUS_OK && pid > 0 && result >= 0 && result < 200) {
        r->ok++;
    } else {
        r->wrong++;
    }
}

#endif /* PROCREACT_EXHAUSTION_RUN_H */
