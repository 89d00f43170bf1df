/* SPDX-License-Identifier: MIT */
/* procreact-demo, step 4: a pid iterator's children collected from the application's own loop. */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

#include <procreact_pid.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_types.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- step 4: the main-loop step with a pid iterator --------------------- */

enum { kLoopChildren = 5 };

typedef struct {
    unsigned int next;
    unsigned int done;
    unsigned int failed;
    int sleep_ms[kLoopChildren];
    double t0;
} Loop;

static ProcReact_bool loop_has_next(void *data)
{
    const Loop *l = data;
    return l->next < kLoopChildren;
}

static pid_t loop_next(void *data)
{
    Loop *l = data;
    const unsigned int index = l->next++;
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(l->sleep_ms[index]);
        _exit((int)index); /* the exit code says which child this was */
    }
    if (pid > 0)
        printf("  started child %u (pid %ld, %d ms)\n", index, (long)pid, l->sleep_ms[index]);
    return pid;
}

static void loop_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Loop *l = data;
    l->done++;
    const int ok = status == PROCREACT_STATUS_OK && result >= 0 && result < kLoopChildren;
    if (!ok)
        l->failed++;
    printf("  [%5.0f ms] pid %ld complete: %s, exit code %d\n", (now_seconds() - l->t0) * 1e3, (long)pid,
           status_name(status), result);
}

int step_main_loop(void)
{
    Loop l;
    memset(&l, 0, sizeof l);
    for (int i = 0; i < kLoopChildren; ++i)
        l.sleep_ms[i] = 80 + 60 * i;
    l.t0 = now_seconds();

    if (procreact_register_signal_handler() != 0) {
        printf("  could not install the SIGCHLD handler\n");
        return 1;
    }
    ProcReact_PidIterator iterator = procreact_initialize_pid_iterator(
        loop_has_next, loop_next, procreact_retrieve_exit_status, loop_complete, &l);
    while (procreact_spawn_next_pid(&iterator))
        ;

    /* The application's loop: other work (here: ticks) plus the step. */
    unsigned int ticks = 0;
    while (l.done < kLoopChildren) {
        procreact_complete_all_finished_processes(&iterator);
        if (l.done == kLoopChildren)
            break;
        printf("  tick %2u: %u running, doing other work\n", ++ticks, iterator.running_processes);
        sleep_ms(50);
        if (now_seconds() - l.t0 > 10.0) {
            printf("  gave up: children still running after 10 s\n");
            return 1;
        }
    }
    printf("  all %d children complete after %u ticks, %.0f ms\n", kLoopChildren, ticks,
           (now_seconds() - l.t0) * 1e3);
    return (l.failed == 0 && iterator.running_processes == 0) ? 0 : 1;
}
