/* SPDX-License-Identifier: MIT */
/*
 * Counts shared by the bad-input tests (test_badinput*.c): the work left
 * for an iterator to spawn, and the completions of futures that could not
 * start (and of any others).
 */
#ifndef PROCREACT_BADINPUT_COUNTS_H
#define PROCREACT_BADINPUT_COUNTS_H

#include "hard.h"

#include <procreact.h>

static long g_left;

static inline ProcReact_bool some_left(void *data)
{
    (void)data;
    return g_left > 0;
}

static long g_fork_fails, g_other;

static inline void count_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    (void)data;
    if (status == PROCREACT_STATUS_FORK_FAIL && future->result == NULL && future->pid == -1)
        g_fork_fails++;
    else
        g_other++;
}

#endif /* PROCREACT_BADINPUT_COUNTS_H */
