/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the spawn tests (test_spawn*.c): a command run with a
 * setup applied, its stdout taken as a string, directly or through sh -c.
 */
#ifndef PROCREACT_SPAWN_RUN_H
#define PROCREACT_SPAWN_RUN_H

#include "test.h"

#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

/* Runs @p argv (with @p setup applied) and returns its stdout as a string;
 * the exit details go to @p info. */
static inline char *run(const char *const *argv, void (*setup)(ProcReact_Command *), ProcReact_ExitInfo *info,
                        ProcReact_Status *status)
{
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    char *result;
    assert_non_null(command);
    if (setup != NULL)
        setup(command);
    future = procreact_command_spawn(command, procreact_create_string_type());
    procreact_command_free(command); /* the future does not need it */
    result = (char *)procreact_future_get_with_info(&future, status, info);
    return result;
}

static inline char *sh(const char *script, void (*setup)(ProcReact_Command *), ProcReact_ExitInfo *info)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result = run(argv, setup, info, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    return result;
}

#endif /* PROCREACT_SPAWN_RUN_H */
