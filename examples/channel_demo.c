/* SPDX-License-Identifier: MIT */
/*
 * procreact-channel-demo: a conversation with running children.
 *
 * Three workers run at once: two forked children (C code with a channel
 * handle) and one spawned shell in line mode. Each gets tasks as messages
 * and answers each; the parent drives them all from one future iterator,
 * its channel events coming through the same step as the completions, and
 * prints every event. A future's messages always come before its
 * completion.
 *
 * Usage: procreact-channel-demo      (exits 0 when every answer came back)
 */
#define _GNU_SOURCE
#include <procreact_channel.h>
#include <procreact_control.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TASKS 3

static int g_answers, g_closed, g_completed;

/* A forked worker: squares each number it is sent, then exits. */
static void worker(ProcReact_Channel *ch)
{
    ProcReact_Message *m;
    for (int i = 0; i < TASKS && procreact_channel_recv(ch, &m, -1) == 0; ++i) {
        char reply[64];
        const long n = strtol(procreact_message_data(m), NULL, 10);
        const int len = snprintf(reply, sizeof reply, "%ld squared is %ld", n, n * n);
        procreact_message_free(m);
        procreact_channel_send_wait(ch, reply, (size_t)len, NULL, 0, -1);
    }
    _exit(0);
}

static void on_channel(void *data, const ProcReact_Future *future, ProcReact_Channel *channel,
                       ProcReact_ChannelEvent event, ProcReact_Message *message, int error)
{
    (void)data;
    (void)channel;
    if (event == PROCREACT_CHANNEL_MESSAGE) {
        printf("  [%d] says: %.*s\n", (int)future->pid, (int)procreact_message_size(message),
               (const char *)procreact_message_data(message));
        g_answers++;
        procreact_message_free(message);
    } else if (event == PROCREACT_CHANNEL_CLOSED) {
        printf("  [%d] channel closed%s\n", (int)future->pid, error ? " (with an error)" : "");
        g_closed++;
    }
}

static void on_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    (void)data;
    printf("  [%d] completed (status %d)\n", (int)future->pid, (int)status);
    free(future->result);
    g_completed++;
}

static void send_tasks(ProcReact_Future *future, int base)
{
    ProcReact_Channel *ch = procreact_future_channel(future);
    for (int i = 0; i < TASKS && ch != NULL; ++i) {
        char task[16];
        const int len = snprintf(task, sizeof task, "%d", base + i);
        procreact_channel_send(ch, task, (size_t)len, NULL, 0); /* queued if need be: the steps write it */
    }
    procreact_channel_free(ch);
}

int main(void)
{
    static const char *const shell[] = {"sh", "-c",
                                        "fd=$PROCREACT_CHANNEL_FD; while read n <&$fd; do "
                                        "echo \"$n doubled is $((n * 2))\" >&$fd; done",
                                        NULL};
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(NULL, NULL, on_complete, NULL);
    procreact_future_iterator_set_channel_callback(&it, on_channel, NULL);
    for (int w = 0; w < 2; ++w) {
        ProcReact_Channel *child = NULL;
        ProcReact_Future f = procreact_initialize_future_with_channel(procreact_create_string_type(),
                                                                      PROCREACT_CHANNEL_FRAMED, &child);
        if (f.pid == 0)
            worker(child);
        send_tasks(&f, 10 * (w + 1));
        procreact_future_iterator_add(&it, &f);
    }
    ProcReact_Command *cmd = procreact_command_new(shell);
    procreact_command_set_channel(cmd, PROCREACT_CHANNEL_LINES);
    ProcReact_Future sh = procreact_command_spawn(cmd, procreact_create_string_type());
    procreact_command_free(cmd);
    ProcReact_Channel *sh_channel = procreact_future_channel(&sh);
    send_tasks(&sh, 7);
    procreact_channel_shutdown(sh_channel); /* the shell's read loop ends after the tasks */
    procreact_channel_free(sh_channel);
    procreact_future_iterator_add(&it, &sh);

    printf("three workers, %d tasks each:\n", TASKS);
    const int fd = procreact_future_iterator_fd(&it);
    while (procreact_future_iterator_step(&it, 0) == 1) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 5000); /* any main loop would do: one descriptor */
    }
    procreact_destroy_future_iterator(&it);
    const int ok = g_answers == 3 * TASKS && g_closed == 3 && g_completed == 3;
    printf("%d answers, %d channels closed, %d completed: %s\n", g_answers, g_closed, g_completed,
           ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
