/* SPDX-License-Identifier: MIT */
/* procreact-demo, step 5: programs spawned in parallel (no fork of the demo), with their exit details. */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- 5. programs spawned in parallel (no fork of the demo), with exit details */

typedef struct {
    const char *const *scripts;
    unsigned int next, count, as_expected;
    ProcReact_Command *command;
} Spawned;

static const char *const g_scripts[] = {
    "echo 'hello from sh'",
    "echo 'to stderr' >&2; exit 3",
    "kill -TERM $$",
    "head -c 100000 /dev/zero | wc -c",
};

static ProcReact_bool spawned_has_next(void *data)
{
    Spawned *s = (Spawned *)data;
    return s->next < s->count;
}

static ProcReact_Future spawned_next(void *data)
{
    Spawned *s = (Spawned *)data;
    const char *argv[] = {"sh", "-c", NULL, NULL};
    ProcReact_Future future;
    argv[2] = s->scripts[s->next++];
    if (s->next > sizeof g_scripts / sizeof g_scripts[0]) {
        /* The last one names a program that does not exist. */
        argv[0] = "procreact-demo-no-such-program";
        argv[1] = NULL;
    }
    s->command = procreact_command_new(argv);
    procreact_command_set_stderr(s->command, PROCREACT_OUTPUT_CAPTURE, -1);
    future = procreact_command_spawn(s->command, procreact_create_string_type());
    procreact_command_free(s->command); /* the future does not need it */
    return future;
}

static void spawned_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Spawned *s = (Spawned *)data;
    ProcReact_ExitInfo info;
    char *out = (char *)future->result;
    if (procreact_future_info(future, &info) != 0)
        return;
    if (info.exec_errno != 0)
        printf("  could not run: %s\n", strerror(info.exec_errno)); /* the program never started: no fork failed */
    else if (info.exited)
        printf("  pid %d exited %d after %.1f ms, %.1f ms CPU, peak %ld KiB", (int)future->pid, info.exit_code,
               info.wall_time * 1e3, (info.user_time + info.system_time) * 1e3, info.max_rss_kib);
    else
        printf("  pid %d killed by signal %d (%s)", (int)future->pid, info.signal, status_name(status));
    if (info.exec_errno == 0) {
        if (out != NULL)
            printf(", stdout \"%.*s\"", (int)strcspn(out, "\n"), out);
        if (info.stderr_length != 0)
            printf(", stderr \"%.*s\"", (int)strcspn(info.stderr_data, "\n"), info.stderr_data);
        printf("\n");
    }
    s->as_expected += info.exec_errno != 0 || info.exited || info.signal == SIGTERM;
    free(info.stderr_data);
    free(out);
}

int step_spawn(void)
{
    Spawned s = {g_scripts, 0, sizeof g_scripts / sizeof g_scripts[0] + 1, 0, NULL};
    ProcReact_FutureIterator it =
        procreact_initialize_future_iterator(spawned_has_next, spawned_next, spawned_complete, &s);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 3);
    procreact_destroy_future_iterator(&it);
    return s.as_expected == s.count ? 0 : 1;
}
