/* SPDX-License-Identifier: MIT */
/*
 * procreact_channel.h with children: forked and spawned, send-then-exit
 * ordering, a child killed mid-message, line-mode shells, Python
 * programs, and channel events through a future iterator's step.
 */
#include "channel_test.h"

#include <procreact_control.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

/* ------------------------------------------------- channels with children */

/* Whether the library read @p ch's socket to its end already (nothing
 * left in it: a peek finds the end of the stream). */
static int stream_read_to_end(ProcReact_Channel *ch)
{
    char c;
    return recv(procreact_channel_fd(ch), &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* In a forked child: ends as a program (no leak check sees the exit). */
static void child_done(void)
{
    execl("/bin/true", "true", (char *)NULL);
    _exit(127);
}

/* A forked child answers each message with its length, until "stop". */
static void test_forked_child_conversation(void **state)
{
    ProcReact_Channel *child = NULL, *ch;
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_Message *m = NULL;
    char *result;
    int i;
    (void)state;
    future = procreact_initialize_future_with_channel(procreact_create_string_type(), PROCREACT_CHANNEL_FRAMED,
                                                      &child);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        for (;;) {
            char reply[32];
            int n;
            if (procreact_channel_recv(child, &m, -1) != 0)
                _exit(3);
            if (procreact_message_size(m) == 4 && memcmp(procreact_message_data(m), "stop", 4) == 0)
                break;
            n = snprintf(reply, sizeof reply, "%llu", (unsigned long long)procreact_message_size(m));
            procreact_message_free(m);
            if (procreact_channel_send(child, reply, (size_t)n, NULL, 0) < 0 ||
                procreact_channel_flush(child, -1) != 0)
                _exit(4);
        }
        child_done();
    }
    assert_null(child);
    ch = procreact_future_channel(&future);
    assert_non_null(ch);
    for (i = 0; i < 20; ++i) {
        char want[32];
        unsigned char body[5000];
        const size_t size = (size_t)i * 250;
        fill(body, size, 0);
        assert_true(procreact_channel_send(ch, body, size, NULL, 0) >= 0);
        assert_int_equal(procreact_channel_recv(ch, &m, 10000), 0);
        snprintf(want, sizeof want, "%zu", size);
        assert_int_equal(procreact_message_size(m), strlen(want));
        assert_memory_equal(procreact_message_data(m), want, strlen(want));
        procreact_message_free(m);
    }
    assert_int_equal(procreact_channel_send(ch, "stop", 4, NULL, 0), 0);
    result = procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(result, "");
    free(result);
    assert_int_equal(procreact_channel_try_recv(ch, &m), 1); /* ended, nothing left */
    procreact_channel_free(ch);
    assert_null(procreact_future_channel(&future)); /* finished: no longer reached */
    assert_int_equal(errno, ENOENT);
}

/* Send-then-exit: 1,000 messages from 1 byte to 4 MiB, sent just before
 * the child exits, are all delivered before the exit is reported. */
static void test_send_then_exit(void **state)
{
    enum { kCount = 1000 };
    ProcReact_Channel *child = NULL, *ch;
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_Message *m = NULL;
    char *result;
    int i;
    (void)state;
    future = procreact_initialize_future_with_channel(procreact_create_string_type(), PROCREACT_CHANNEL_FRAMED,
                                                      &child);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        unsigned char *body = malloc(4u << 20);
        for (i = 0; i < kCount && body != NULL; ++i) {
            const size_t size = i == kCount - 1 ? (4u << 20) : 1 + (size_t)((i * 7919) % 40000);
            fill(body, size, (unsigned)i);
            if (procreact_channel_send(child, body, size, NULL, 0) < 0 || procreact_channel_flush(child, -1) != 0)
                _exit(4);
        }
        child_done();
    }
    ch = procreact_future_channel(&future);
    assert_non_null(ch);
    /* Room for everything: the get reads the channel to its end first. */
    assert_int_equal(procreact_channel_set_queue_limits(ch, 1u << 20, 64u << 20), 0);
    result = procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    free(result);
    assert_true(stream_read_to_end(ch));
    for (i = 0; i < kCount; ++i) {
        const size_t size = i == kCount - 1 ? (4u << 20) : 1 + (size_t)((i * 7919) % 40000);
        assert_int_equal(procreact_channel_try_recv(ch, &m), 0); /* there already: no waiting */
        expect_message(m, size, (unsigned)i);
        procreact_message_free(m);
    }
    assert_int_equal(procreact_channel_try_recv(ch, &m), 1);
    procreact_channel_free(ch);
}

/* A child killed in the middle of a message: an error, nothing delivered. */
static void test_child_killed_mid_message(void **state)
{
    ProcReact_Channel *child = NULL, *ch;
    ProcReact_Future future;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_ExitInfo info;
    ProcReact_Message *m = NULL;
    (void)state;
    future = procreact_initialize_future_with_channel(procreact_create_string_type(), PROCREACT_CHANNEL_FRAMED,
                                                      &child);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        static const unsigned char half[] = {0, 0, 3, 0xe8, 'p', 'a', 'r', 't'}; /* 1000 announced, 4 sent */
        procreact_channel_send(child, "whole", 5, NULL, 0);
        procreact_channel_flush(child, -1);
        if (write(procreact_channel_fd(child), half, sizeof half) != (ssize_t)sizeof half)
            _exit(5);
        raise(SIGKILL);
        _exit(6);
    }
    ch = procreact_future_channel(&future);
    assert_non_null(ch);
    free(procreact_future_get_with_info(&future, &status, &info));
    assert_int_equal(info.signal, SIGKILL);
    assert_int_equal(procreact_channel_try_recv(ch, &m), 0);
    assert_int_equal(procreact_message_size(m), 5);
    procreact_message_free(m);
    m = NULL;
    assert_int_equal(procreact_channel_try_recv(ch, &m), -1);
    assert_int_equal(errno, ECONNRESET);
    assert_null(m);
    procreact_channel_free(ch);
}

/* A spawned shell in line mode, and the variables it finds. */
static void test_spawned_shell_lines(void **state)
{
    static const char *const argv[] = {"sh", "-c",
                                       "fd=$PROCREACT_CHANNEL_FD; read line <&$fd; echo \"got:$line\" >&$fd; "
                                       "echo \"mode:$PROCREACT_CHANNEL_MODE fd:$fd\" >&$fd",
                                       NULL};
    static const char *const want[] = {"got:hello", "mode:lines fd:3"};
    ProcReact_Command *cmd = procreact_command_new(argv);
    int extra[12], k;
    ProcReact_Future future;
    ProcReact_Channel *ch;
    ProcReact_Message *m = NULL;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    int i;
    (void)state;
    assert_non_null(cmd);
    assert_int_equal(procreact_command_set_channel(cmd, (ProcReact_ChannelMode)7), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_command_set_channel(cmd, PROCREACT_CHANNEL_LINES), 0);
    /* Our end's number is high here; the program's is 3 (a shell redirects only 0-9). */
    for (k = 0; k < 12; ++k)
        extra[k] = dup(2);
    future = procreact_command_spawn(cmd, procreact_create_string_type());
    for (k = 0; k < 12; ++k)
        close(extra[k]);
    procreact_command_free(cmd);
    assert_true(future.pid > 0);
    ch = procreact_future_channel(&future);
    assert_non_null(ch);
    assert_int_equal(procreact_channel_send(ch, "hello", 5, NULL, 0), 0);
    for (i = 0; i < 2; ++i) {
        assert_int_equal(procreact_channel_recv(ch, &m, 10000), 0);
        assert_int_equal(procreact_message_size(m), strlen(want[i]));
        assert_memory_equal(procreact_message_data(m), want[i], strlen(want[i]));
        procreact_message_free(m);
    }
    free(procreact_future_get(&future, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(procreact_channel_recv(ch, &m, 1000), 1);
    procreact_channel_free(ch);
}

/* A spawned Python program needs nothing of ours: a Connection on the
 * descriptor named in its environment; and a program without a channel
 * finds no variable (even one the parent inherited). */
static void test_spawned_python_connection(void **state)
{
    static const char *const argv[] = {
        "/usr/bin/python3", "-c",
        "import os\n"
        "from multiprocessing.connection import Connection\n"
        "c = Connection(int(os.environ['PROCREACT_CHANNEL_FD']))\n"
        "m = c.recv_bytes()\n"
        "c.send_bytes(m.upper())\n"
        "c.send_bytes(b'x' * 70000)\n",
        NULL};
    static const char *const env_argv[] = {"sh", "-c", "printf %s \"${PROCREACT_CHANNEL_FD-none}\"", NULL};
    ProcReact_Command *cmd = procreact_command_new(argv);
    ProcReact_Future future;
    ProcReact_Channel *ch;
    ProcReact_Message *m = NULL;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result;
    (void)state;
    assert_int_equal(procreact_command_set_channel(cmd, PROCREACT_CHANNEL_FRAMED), 0);
    future = procreact_command_spawn(cmd, procreact_create_string_type());
    procreact_command_free(cmd);
    ch = procreact_future_channel(&future);
    assert_non_null(ch);
    assert_int_equal(procreact_channel_send(ch, "shout", 5, NULL, 0), 0);
    result = procreact_future_get(&future, &status); /* the replies wait in the queue */
    assert_int_equal(status, PROCREACT_STATUS_OK);
    free(result);
    assert_true(stream_read_to_end(ch));
    assert_int_equal(procreact_channel_try_recv(ch, &m), 0);
    assert_memory_equal(procreact_message_data(m), "SHOUT", 5);
    procreact_message_free(m);
    assert_int_equal(procreact_channel_try_recv(ch, &m), 0);
    assert_int_equal(procreact_message_size(m), 70000);
    procreact_message_free(m);
    assert_int_equal(procreact_channel_try_recv(ch, &m), 1);
    procreact_channel_free(ch);

    setenv("PROCREACT_CHANNEL_FD", "5", 1);
    cmd = procreact_command_new(env_argv);
    future = procreact_command_spawn(cmd, procreact_create_string_type());
    procreact_command_free(cmd);
    assert_null(procreact_future_channel(&future));
    result = procreact_future_get(&future, &status);
    unsetenv("PROCREACT_CHANNEL_FD");
    assert_string_equal(result, "none");
    free(result);
}

/* ------------------------------------------------ events in an iterator */

#define EV_FUTURES 3
#define EV_MESSAGES 50

typedef struct {
    pid_t pids[EV_FUTURES];
    int messages[EV_FUTURES], closed[EV_FUTURES], completed[EV_FUTURES], wrong, replies_sent;
} EventLog;

static int ev_index(const EventLog *log, pid_t pid)
{
    int i;
    for (i = 0; i < EV_FUTURES; ++i)
        if (log->pids[i] == pid)
            return i;
    return -1;
}

static void ev_channel(void *data, const ProcReact_Future *future, ProcReact_Channel *channel,
                       ProcReact_ChannelEvent event, ProcReact_Message *message, int error)
{
    EventLog *log = data;
    const int i = ev_index(log, future->pid);
    if (i < 0 || log->completed[i] || log->closed[i]) {
        log->wrong++; /* unknown, or after its end */
        procreact_message_free(message);
        return;
    }
    switch (event) {
    case PROCREACT_CHANNEL_MESSAGE: {
        char want[16];
        const int n = snprintf(want, sizeof want, "m%d", log->messages[i]);
        if (procreact_message_size(message) != (uint64_t)n || memcmp(procreact_message_data(message), want, (size_t)n))
            log->wrong++;
        log->messages[i]++;
        if (log->messages[i] == 1) { /* the first one is answered: the child waits for it */
            if (procreact_channel_send(channel, "go", 2, NULL, 0) < 0)
                log->wrong++;
            log->replies_sent++;
        }
        procreact_message_free(message);
        break;
    }
    case PROCREACT_CHANNEL_CLOSED:
        if (error != 0)
            log->wrong++;
        log->closed[i] = 1;
        break;
    default:
        break;
    }
}

static void ev_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    EventLog *log = data;
    const int i = ev_index(log, future->pid);
    if (i < 0 || status != PROCREACT_STATUS_OK || !log->closed[i] || log->messages[i] != EV_MESSAGES)
        log->wrong++; /* completion before the channel's last event */
    else
        log->completed[i] = 1;
    free(future->result);
}

/* Channel events through the iterator's descriptor and its non-blocking
 * step: each future's messages in order, then its end, then its
 * completion; a reply sent from the callback reaches the child. */
static void test_iterator_channel_events(void **state)
{
    static const char *const argv[] = {
        "/usr/bin/python3", "-c",
        "import os\n"
        "from multiprocessing.connection import Connection\n"
        "c = Connection(int(os.environ['PROCREACT_CHANNEL_FD']))\n"
        "c.send_bytes(b'm0')\n"
        "assert c.recv_bytes() == b'go'\n"
        "for i in range(1, 50):\n"
        "    c.send_bytes(b'm%d' % i)\n",
        NULL};
    EventLog log;
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(NULL, NULL, ev_complete, &log);
    ProcReact_Command *cmd = procreact_command_new(argv);
    int i, fd, running = 1;
    double until;
    (void)state;
    memset(&log, 0, sizeof log);
    assert_int_equal(procreact_command_set_channel(cmd, PROCREACT_CHANNEL_FRAMED), 0);
    assert_int_equal(procreact_future_iterator_set_channel_callback(&it, ev_channel, &log), 0);
    for (i = 0; i < EV_FUTURES; ++i) {
        ProcReact_Future f = procreact_command_spawn(cmd, procreact_create_string_type());
        assert_true(f.pid > 0);
        log.pids[i] = f.pid;
        assert_int_equal(procreact_future_iterator_add(&it, &f), 0);
    }
    procreact_command_free(cmd);
    fd = procreact_future_iterator_fd(&it);
    assert_true(fd >= 0);
    until = t_now() + 20;
    while (running && t_now() < until) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 1000);
        running = procreact_future_iterator_step(&it, 0);
    }
    assert_int_equal(running, 0);
    assert_int_equal(log.wrong, 0);
    assert_int_equal(log.replies_sent, EV_FUTURES);
    for (i = 0; i < EV_FUTURES; ++i) {
        assert_int_equal(log.messages[i], EV_MESSAGES);
        assert_int_equal(log.completed[i], 1);
    }
    procreact_destroy_future_iterator(&it);
}

typedef struct {
    int messages, closed, completed_after_closed, completed, wrong;
} LateLog;

static void late_channel(void *data, const ProcReact_Future *future, ProcReact_Channel *channel,
                         ProcReact_ChannelEvent event, ProcReact_Message *message, int error)
{
    LateLog *log = data;
    (void)future;
    (void)channel;
    if (log->completed)
        log->wrong++;
    if (event == PROCREACT_CHANNEL_MESSAGE)
        log->messages++;
    else if (event == PROCREACT_CHANNEL_CLOSED)
        log->closed += error == 0 ? 1 : 100;
    procreact_message_free(message);
}

static void late_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    LateLog *log = data;
    log->completed++;
    if (status == PROCREACT_STATUS_OK && log->closed == 1 && log->messages == 2)
        log->completed_after_closed = 1;
    free(future->result);
}

/* The child exits first; a grandchild holding the channel writes its last
 * line later. The future is done in the step that reads the end, and the
 * channel's events still come before its completion. */
static void test_iterator_events_when_child_exited_first(void **state)
{
    static const char *const argv[] = {"sh", "-c",
                                       "fd=$PROCREACT_CHANNEL_FD; echo a >&$fd; "
                                       "(exec >/dev/null 2>&1; sleep 0.3; echo b >&$fd) & exit 0",
                                       NULL};
    LateLog log;
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(NULL, NULL, late_complete, &log);
    ProcReact_Command *cmd = procreact_command_new(argv);
    ProcReact_Future f;
    double until = t_now() + 10;
    (void)state;
    memset(&log, 0, sizeof log);
    assert_int_equal(procreact_command_set_channel(cmd, PROCREACT_CHANNEL_LINES), 0);
    assert_int_equal(procreact_future_iterator_set_channel_callback(&it, late_channel, &log), 0);
    f = procreact_command_spawn(cmd, procreact_create_string_type());
    procreact_command_free(cmd);
    assert_int_equal(procreact_future_iterator_add(&it, &f), 0);
    while (procreact_buffer(&it) > 0 && t_now() < until)
        ;
    assert_int_equal(log.completed, 1);
    assert_int_equal(log.wrong, 0);
    assert_int_equal(log.completed_after_closed, 1);
    procreact_destroy_future_iterator(&it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_forked_child_conversation, t_teardown_no_children),
        cmocka_unit_test_teardown(test_send_then_exit, t_teardown_no_children),
        cmocka_unit_test_teardown(test_child_killed_mid_message, t_teardown_no_children),
        cmocka_unit_test_teardown(test_spawned_shell_lines, t_teardown_no_children),
        cmocka_unit_test_teardown(test_spawned_python_connection, t_teardown_no_children),
        cmocka_unit_test_teardown(test_iterator_channel_events, t_teardown_no_children),
        cmocka_unit_test_teardown(test_iterator_events_when_child_exited_first, t_teardown_no_children),
    };
    return cmocka_run_group_tests_name("channel_children", tests, NULL, NULL);
}
