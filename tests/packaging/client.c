/* SPDX-License-Identifier: MIT */
/*
 * A minimal libprocreact client, built against an *installed* copy of the
 * library through pkg-config (the install-layout test and .ci/deb-check.sh).
 * It uses only the libprocreact 0.1 surface and the header names a Disnix
 * build includes, so a failure here is a failure for existing clients.
 * Exit status 0 when the child's string came back intact.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <procreact_future.h>
#include <procreact_pid.h>
#include <procreact_types.h>

int main(void)
{
    const char *greeting = "hello from the child";
    ProcReact_Status status = PROCREACT_STATUS_OK;
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    char *result;
    int ok;

    if (future.pid == -1) {
        fprintf(stderr, "client: procreact_initialize_future failed\n");
        return 1;
    }
    if (future.pid == 0) {
        size_t len = strlen(greeting);
        _exit(write(future.fd, greeting, len) == (ssize_t)len ? 0 : 1);
    }

    result = procreact_future_get(&future, &status);
    ok = status == PROCREACT_STATUS_OK && result != NULL && strcmp(result, greeting) == 0;
    printf("client: status %d, result \"%s\": %s\n", (int)status,
           result != NULL ? result : "(null)", ok ? "ok" : "WRONG");
    free(result);
    return ok ? 0 : 1;
}
