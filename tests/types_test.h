/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the result-type tests (test_types*.c): a future whose
 * child runs a given body and exits or dies as told, and the length of a
 * string array.
 */
#ifndef PROCREACT_TYPES_TEST_H
#define PROCREACT_TYPES_TEST_H

#include "test.h"

#include <procreact_future.h>
#include <procreact_types.h>

typedef void (*ChildBody)(int fd, const void *arg);

/* Runs @p body in a future's child, which then exits with @p code (or dies
 * by signal @p signo), and returns the future's result. */
static inline void *run_future(ProcReact_Type type, ChildBody body, const void *arg, int code, int signo,
                               ProcReact_Status *status)
{
    ProcReact_Future future = procreact_initialize_future(type);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        body(future.fd, arg);
        if (signo != 0)
            t_die_by_signal(signo);
        _exit(code);
    }
    return procreact_future_get(&future, status);
}

static inline size_t array_length(char **arr)
{
    size_t n = 0;
    while (arr[n] != NULL)
        ++n;
    return n;
}

#endif /* PROCREACT_TYPES_TEST_H */
