/* SPDX-License-Identifier: MIT */
/* procreact-demo, step 2: 12 forked children through a future iterator, 4 at a time, with a progress line. */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- step 2: many children, a limit, a progress line -------------------- */

enum { kTasks = 12, kLimit = 4 };

typedef struct {
    unsigned int next;    /* the next task to start */
    unsigned int done;    /* completed, with or without success */
    unsigned int failed;  /* completed without a correct result */
    int sleep_ms[kTasks]; /* chosen by the parent before any fork */
    int tty;              /* stdout is a terminal: redraw in place */
    double t0;
    char *results[kTasks];
} Batch;

static void show_progress(const Batch *b, const char *event)
{
    const unsigned int running = b->next - b->done;
    if (b->tty) {
        printf("\r  progress: %2u/%u done, %u running  %-30s", b->done, kTasks, running, event);
        fflush(stdout);
    } else {
        printf("  progress: %2u/%u done, %u running  (%s)\n", b->done, kTasks, running, event);
    }
}

static ProcReact_bool batch_has_next(void *data)
{
    const Batch *b = data;
    return b->next < kTasks;
}

static ProcReact_Future batch_next(void *data)
{
    Batch *b = data;
    const unsigned int task = b->next;
    fflush(stdout);
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == 0) {
        sleep_ms(b->sleep_ms[task]);
        char message[96];
        const int len =
            snprintf(message, sizeof message, "task %2u: slept %3d ms in pid %ld", task, b->sleep_ms[task], (long)getpid());
        _exit(len > 0 && write_all(future.fd, message, (size_t)len) == 0 ? 0 : 1);
    }
    b->next++;
    char event[48];
    snprintf(event, sizeof event, "started task %u", task);
    show_progress(b, event);
    return future;
}

static void batch_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Batch *b = data;
    char *result = future->result; /* ours now */
    b->done++;
    if (status != PROCREACT_STATUS_OK || result == NULL) {
        b->failed++;
        free(result);
        show_progress(b, "a task FAILED");
        return;
    }
    unsigned int task = kTasks;
    if (sscanf(result, "task %u:", &task) == 1 && task < kTasks && b->results[task] == NULL)
        b->results[task] = result;
    else {
        b->failed++;
        free(result);
    }
    char event[48];
    snprintf(event, sizeof event, "task %u finished", task);
    show_progress(b, event);
}

int step_batch(void)
{
    Batch b;
    memset(&b, 0, sizeof b);
    b.tty = isatty(STDOUT_FILENO);
    for (int i = 0; i < kTasks; ++i)
        b.sleep_ms[i] = 100 + (int)(next_random() % 301);
    b.t0 = now_seconds();

    ProcReact_FutureIterator iterator =
        procreact_initialize_future_iterator(batch_has_next, batch_next, batch_complete, &b);
    procreact_fork_buffer_and_wait_in_parallel_limit(&iterator, kLimit);
    procreact_destroy_future_iterator(&iterator);
    const double elapsed = now_seconds() - b.t0;
    if (b.tty)
        printf("\n");

    int total_sleep = 0;
    for (int i = 0; i < kTasks; ++i) {
        total_sleep += b.sleep_ms[i];
        if (b.results[i] != NULL)
            printf("  %s\n", b.results[i]);
        else
            printf("  task %2d: no result\n", i);
        free(b.results[i]);
    }
    printf("  %d tasks, limit %d: %.0f ms wall for %d ms of sleeping (%.1fx parallel)\n", kTasks, kLimit,
           elapsed * 1e3, total_sleep, (double)total_sleep / (elapsed * 1e3));
    return (b.done == kTasks && b.failed == 0) ? 0 : 1;
}
