/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the identity tests (test_identity*.c): a child that
 * sleeps and exits with a code of its own.
 */
#ifndef PROCREACT_IDENTITY_TEST_H
#define PROCREACT_IDENTITY_TEST_H

#include "test.h"

/* A child that sleeps @p ms and exits with @p code, by exec (a clean exit
 * under valgrind's leak check). */
static inline pid_t sleeper(long ms, int code)
{
    pid_t pid = fork();
    if (pid == 0) {
        char script[64];
        snprintf(script, sizeof script, "sleep %ld.%03ld; exit %d", ms / 1000, ms % 1000, code);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    return pid;
}

#endif /* PROCREACT_IDENTITY_TEST_H */
