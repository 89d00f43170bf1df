/* SPDX-License-Identifier: MIT */
/* procreact-demo, step 3: a forked child execs `ls`; the string-array type returns its output as lines. */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

#include <procreact_future.h>
#include <procreact_types.h>

#include <stdio.h>
#include <unistd.h>

/* ---- step 3: exec a program, read its output as lines ------------------- */

int step_exec(void)
{
    const double t0 = now_seconds();
    fflush(stdout);
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_array_type('\n'));
    if (future.pid == -1) {
        printf("  could not start the child\n");
        return 1;
    }
    if (future.pid == 0) {
        /* The program writes to stdout: make stdout the future's pipe. */
        if (dup2(future.fd, STDOUT_FILENO) < 0)
            _exit(126);
        if (future.fd != STDOUT_FILENO)
            close(future.fd);
        execlp("ls", "ls", "-1", "/usr/bin", (char *)NULL);
        _exit(127); /* exec failed */
    }

    ProcReact_Status status;
    char **lines = procreact_future_get(&future, &status);
    const double elapsed = now_seconds() - t0;
    if (status != PROCREACT_STATUS_OK || lines == NULL) {
        printf("  `ls -1 /usr/bin` failed: %s%s\n", status_name(status),
               lines == NULL ? " (no result: non-zero exit?)" : "");
        procreact_free_string_array(lines);
        return 1;
    }
    size_t count = 0;
    while (lines[count] != NULL)
        ++count;
    printf("  `ls -1 /usr/bin` printed %zu lines in %.1f ms; the first ones:\n", count, elapsed * 1e3);
    for (size_t i = 0; i < count && i < 5; ++i)
        printf("    %s\n", lines[i]);
    procreact_free_string_array(lines);
    return count > 0 ? 0 : 1;
}
