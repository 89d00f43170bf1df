/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the value-semantics tests (test_values*.c, issue "Value
 * semantics", items 1-11): a future whose child writes a text, a check that
 * no child is left, and a count of work for the collections.
 *
 * Each scenario runs in a forked sub-process with an alarm: on a library
 * that crashes or hangs there, the scenario fails alone (its verdict says
 * which check broke) instead of taking the whole suite with it. A scenario
 * returns 0 when every check holds, or the number of the first check that
 * failed. The verdict comes back through a pipe, not as the exit status:
 * under valgrind the leak check of a forked process that exits can replace
 * its status (--error-exitcode), whatever the scenario found.
 */
#ifndef PROCREACT_VALUES_TEST_H
#define PROCREACT_VALUES_TEST_H

#include "test.h"

#include <procreact_future.h>
#include <procreact_types.h>

static inline ProcReact_Future writer(const char *text, long delay_ms)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == 0)
        t_exec_writer(future.fd, text, delay_ms);
    return future;
}

static inline int no_children_left(void)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

typedef struct {
    int next, total, right;
} Work;

static inline ProcReact_bool work_has_next(void *data) { return ((Work *)data)->next < ((Work *)data)->total; }

#endif /* PROCREACT_VALUES_TEST_H */
