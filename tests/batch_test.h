/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the batch tests (test_batch.c, test_batch_wait.c): a
 * template command, a batch made from it, and one `sh -c` job queued.
 */
#ifndef PROCREACT_BATCH_TEST_H
#define PROCREACT_BATCH_TEST_H

#include "test.h"

#include <procreact_batch.h>
#include <procreact_spawn.h>

static inline ProcReact_Command *template_command(int capture_stderr)
{
    const char *argv[] = {"unused", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    assert_non_null(c);
    if (capture_stderr)
        assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_CAPTURE, -1), 0);
    return c;
}

static inline ProcReact_Batch *make_batch(int capture_stderr, unsigned limit)
{
    ProcReact_Command *c = template_command(capture_stderr);
    ProcReact_Batch *b = procreact_batch_new(c, limit);
    procreact_command_free(c); /* the batch keeps a copy */
    assert_non_null(b);
    return b;
}

/* Queues one `sh -c SCRIPT ARG` job; returns its index. */
static inline ssize_t submit_sh(ProcReact_Batch *b, const char *script, const char *arg)
{
    const char *argv[] = {"sh", "-c", script, "sh", arg};
    size_t count = arg != NULL ? 5 : 3;
    return procreact_batch_submit(b, argv, &count, 1);
}

#endif /* PROCREACT_BATCH_TEST_H */
