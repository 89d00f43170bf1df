/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the control tests (test_control*.c): a program spawned
 * through sh -c, in a process group of its own or not, and a future that
 * another thread cancels after a delay.
 */
#ifndef PROCREACT_CONTROL_TEST_H
#define PROCREACT_CONTROL_TEST_H

#include "test.h"

#include <procreact_control.h>
#include <procreact_future.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

static inline ProcReact_Future spawn_sh(const char *script, int new_group, ProcReact_Type type)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    assert_non_null(command);
    if (new_group)
        assert_int_equal(procreact_command_set_new_process_group(command, 1), 0);
    future = procreact_command_spawn(command, type);
    procreact_command_free(command);
    assert_true(future.pid > 0);
    return future;
}

typedef struct {
    ProcReact_Future future;
    long delay_ms;
    int rc;
} CancelLater;

static inline void *cancel_later(void *arg)
{
    CancelLater *c = arg;
    t_sleep_ms(c->delay_ms);
    c->rc = procreact_future_cancel(&c->future);
    return NULL;
}

#endif /* PROCREACT_CONTROL_TEST_H */
