/* SPDX-License-Identifier: MIT */
/* procreact-demo, step 1: a forked child computes a greeting; its future returns it as a string. */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

#include <procreact_future.h>
#include <procreact_types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- step 1: one future returning a string ------------------------------ */

int step_future(const char *name)
{
    const double t0 = now_seconds();
    fflush(stdout); /* nothing buffered may be inherited by the child */
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == -1) {
        printf("  could not start the child\n");
        return 1;
    }
    if (future.pid == 0) {
        /* The child: some work, then the result on the pipe. */
        unsigned long long sum = 0;
        for (unsigned long long i = 1; i <= 1000000ULL; ++i)
            sum += i * i;
        char message[160];
        const int len = snprintf(message, sizeof message, "Hello %s! (pid %ld computed sum of squares 1..10^6 = %llu)",
                                 name, (long)getpid(), sum);
        _exit(len > 0 && write_all(future.fd, message, (size_t)len) == 0 ? 0 : 1);
    }

    ProcReact_Status status;
    char *result = procreact_future_get(&future, &status);
    const double elapsed = now_seconds() - t0;
    if (status != PROCREACT_STATUS_OK || result == NULL) {
        printf("  failed: %s%s\n", status_name(status), result == NULL ? ", no result" : "");
        free(result);
        return 1;
    }
    const int ok = strncmp(result, "Hello ", 6) == 0;
    printf("  result: \"%s\"\n", result);
    printf("  round trip: %.1f ms\n", elapsed * 1e3);
    free(result);
    return ok ? 0 : 1;
}
