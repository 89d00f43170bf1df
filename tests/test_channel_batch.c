/* SPDX-License-Identifier: MIT */
/*
 * procreact_channel.h in bulk: coalesced sends (procreact_channel_set_coalesce())
 * and batched receives (procreact_channel_recv_many()), in order, with
 * descriptors kept on their own message.
 */
#include "channel_test.h"

#include <sys/wait.h>

enum { kMany = 1000 };

/* Nothing on the wire: a peek at @p fd finds no byte. */
static int wire_empty(int fd)
{
    char c;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* Coalesced sends stay queued until a flush, then arrive whole and in order. */
static void test_coalesced_sends_wait_for_flush(void **state)
{
    int peer, i;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    ProcReact_Channel *other = procreact_channel_open_fd(peer, PROCREACT_CHANNEL_FRAMED);
    (void)state;
    assert_non_null(other);
    assert_int_equal(procreact_channel_set_coalesce(NULL, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_channel_set_coalesce(ch, 1), 0);
    for (i = 0; i < 100; ++i) {
        unsigned char body[40];
        fill(body, sizeof body, (unsigned)i);
        assert_int_equal(procreact_channel_send(ch, body, sizeof body, NULL, 0), 0);
    }
    assert_int_equal(procreact_channel_queued(ch), 100 * 44);
    assert_true(wire_empty(peer)); /* coalesced: not one write yet */
    assert_int_equal(procreact_channel_flush(ch, 1000), 0);
    assert_int_equal(procreact_channel_queued(ch), 0);
    for (i = 0; i < 100; ++i) {
        ProcReact_Message *m;
        assert_int_equal(procreact_channel_recv(other, &m, 1000), 0);
        expect_message(m, 40, (unsigned)i);
        procreact_message_free(m);
    }
    /* A write's worth (64 KiB) goes out without a flush. */
    for (i = 0; i < 20; ++i) {
        static unsigned char body[4000];
        assert_int_equal(procreact_channel_send(ch, body, sizeof body, NULL, 0), 0);
    }
    assert_false(wire_empty(peer));
    assert_true(procreact_channel_queued(ch) < 64 * 1024);
    procreact_channel_free(ch);
    procreact_channel_free(other);
}

/* A message with descriptors in the middle of a coalesced burst: its
 * descriptors arrive with it, not with a neighbour. */
static void descriptors_stay_with_their_message(int coalesce)
{
    int peer, i, pipe_fds[2];
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    ProcReact_Channel *other = procreact_channel_open_fd(peer, PROCREACT_CHANNEL_FRAMED);
    assert_non_null(other);
    assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
    assert_int_equal(procreact_channel_set_coalesce(ch, coalesce), 0);
    for (i = 0; i < 9; ++i)
        assert_int_equal(procreact_channel_send(ch, "abc", 3, i == 4 ? pipe_fds : NULL, i == 4 ? 2u : 0u), 0);
    close(pipe_fds[0]);
    close(pipe_fds[1]); /* the queue holds its own duplicates */
    assert_int_equal(procreact_channel_flush(ch, 1000), 0);
    for (i = 0; i < 9; ++i) {
        ProcReact_Message *m;
        assert_int_equal(procreact_channel_recv(other, &m, 1000), 0);
        assert_int_equal(procreact_message_size(m), 3);
        assert_int_equal(procreact_message_fd_count(m), i == 4 ? 2 : 0);
        procreact_message_free(m);
    }
    procreact_channel_free(ch);
    procreact_channel_free(other);
}

static void test_coalesced_descriptors_stay_with_their_message(void **state)
{
    (void)state;
    descriptors_stay_with_their_message(1);
}

/* The same with one write per message, read only once all are written: the
 * kernel joins the earlier writes in front of the one with descriptors in
 * one read, which must not give them to the first message of that read. */
static void test_descriptors_after_unread_messages(void **state)
{
    (void)state;
    descriptors_stay_with_their_message(0);
}

/* recv_many takes many messages per call, all of them, in order; then 0 at the end. */
static void test_recv_many_in_order(void **state)
{
    static unsigned char wire[kMany * (4 + 64)];
    ProcReact_Message *got[300];
    size_t len = 0;
    int peer, i, seen = 0, calls = 0, r;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    (void)state;
    for (i = 0; i < kMany; ++i) {
        unsigned char body[64];
        const uint32_t size = (uint32_t)(i % 65);
        fill(body, size, (unsigned)i);
        len += frame(body, size, wire + len);
    }
    assert_int_equal(t_write_all(peer, wire, len), 0);
    assert_int_equal(procreact_channel_recv_many(ch, got, 0, 0), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_channel_recv_many(NULL, got, 1, 0), -1);
    assert_int_equal(errno, EINVAL);
    while (seen < kMany) {
        r = procreact_channel_recv_many(ch, got, 300, 1000);
        assert_true(r >= 1 && r <= 300);
        ++calls;
        for (i = 0; i < r; ++i, ++seen) {
            expect_message(got[i], (size_t)(seen % 65), (unsigned)seen);
            procreact_message_free(got[i]);
        }
    }
    assert_true(calls <= 5); /* batches, not one message per call */
    assert_int_equal(procreact_channel_recv_many(ch, got, 300, 50), -1);
    assert_int_equal(errno, ETIMEDOUT);
    close(peer);
    assert_int_equal(procreact_channel_recv_many(ch, got, 300, 1000), 0);
    procreact_channel_free(ch);
}

/* A receive without a deadline sleeps in its read; on a socket the caller
 * made non-blocking it waits in poll() instead, and still gets the message. */
static void test_blocking_recv_on_nonblocking_socket(void **state)
{
    int peer, status = 0;
    ProcReact_Message *m = NULL;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    const int fd = procreact_channel_fd(ch);
    pid_t pid;
    (void)state;
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char wire[8];
        t_sleep_ms(100);
        if (t_write_all(peer, wire, frame("late", 4, wire)) != 0)
            _exit(1);
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    assert_int_equal(procreact_channel_recv(ch, &m, -1), 0);
    assert_int_equal(procreact_message_size(m), 4);
    assert_memory_equal(procreact_message_data(m), "late", 4);
    procreact_message_free(m);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(peer);
    assert_int_equal(procreact_channel_recv(ch, &m, -1), 1); /* the end */
    procreact_channel_free(ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesced_sends_wait_for_flush),
        cmocka_unit_test(test_coalesced_descriptors_stay_with_their_message),
        cmocka_unit_test(test_descriptors_after_unread_messages),
        cmocka_unit_test(test_recv_many_in_order),
        cmocka_unit_test(test_blocking_recv_on_nonblocking_socket),
    };
    return cmocka_run_group_tests_name("channel_batch", tests, NULL, NULL);
}
