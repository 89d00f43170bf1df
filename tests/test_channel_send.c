/* SPDX-License-Identifier: MIT */
/*
 * procreact_channel.h without children: sending. The queue's limits with
 * back-pressure from a peer that does not read, the blocking send with its
 * deadline, a shutdown that the peer reads as the end, and a peer that is
 * gone (EPIPE, no SIGPIPE).
 */
#include "channel_test.h"

/* ------------------------------------------------------ send and limits */

/* A peer that never reads: send reports the high-water mark, fails at the
 * hard cap with nothing queued past it, and everything queued arrives in
 * order once the peer reads. */
static void test_send_backpressure(void **state)
{
    unsigned char body[100];
    int peer, sent = 0, high_seen = 0, r, i;
    size_t queued_max = 0;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    ProcReact_Message *m = NULL;
    (void)state;
    assert_int_equal(procreact_channel_set_queue_limits(ch, 4096, 2048), -1); /* high > cap */
    assert_int_equal(procreact_channel_set_queue_limits(ch, 2048, 8192), 0);
    for (i = 0; i < 100000; ++i) {
        fill(body, sizeof body, (unsigned)i);
        r = procreact_channel_send(ch, body, sizeof body, NULL, 0);
        if (r < 0)
            break;
        if (r == 1)
            high_seen = 1;
        if (procreact_channel_queued(ch) > queued_max)
            queued_max = procreact_channel_queued(ch);
        ++sent;
    }
    assert_int_equal(r, -1);
    assert_int_equal(errno, EAGAIN);
    assert_true(high_seen);
    assert_true(queued_max <= 8192);
    assert_true(procreact_channel_queued(ch) > 8192 - 104);
    /* Too big for the maximum, too many descriptors, no timeout to flush. */
    assert_int_equal(procreact_channel_set_max_message(ch, 50), 0);
    assert_int_equal(procreact_channel_send(ch, body, 51, NULL, 0), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(procreact_channel_flush(ch, 50), -1);
    assert_int_equal(errno, ETIMEDOUT);

    /* The peer now reads, through a channel of its own, while ours flushes:
     * all of it, in order. */
    {
        ProcReact_Channel *other = procreact_channel_open_fd(peer, PROCREACT_CHANNEL_FRAMED);
        int got = 0;
        assert_non_null(other);
        while (got < sent) {
            procreact_channel_flush(ch, 0);
            while (procreact_channel_try_recv(other, &m) == 0) {
                expect_message(m, sizeof body, (unsigned)got);
                procreact_message_free(m);
                ++got;
            }
            assert_int_equal(errno, EAGAIN);
        }
        assert_int_equal(procreact_channel_queued(ch), 0);
        procreact_channel_free(ch);
        assert_int_equal(procreact_channel_recv(other, &m, 5000), 1);
        procreact_channel_free(other);
    }
}

/* The blocking send: its deadline, a message started then queued, and a
 * shutdown that the peer reads as the end while we still receive. */
static void test_send_wait_and_shutdown(void **state)
{
    enum { kBig = 1 << 20 };
    unsigned char *big = malloc(kBig);
    int peer, got = 0;
    size_t queued;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    ProcReact_Channel *other;
    ProcReact_Message *m = NULL;
    (void)state;
    assert_non_null(big);
    fill(big, kBig, 4);
    /* The peer does not read: part goes, the deadline passes, the rest waits in the queue. */
    assert_int_equal(procreact_channel_send_wait(ch, big, kBig, NULL, 0, 100), 1);
    queued = procreact_channel_queued(ch);
    assert_true(queued > 0 && queued < kBig + 4);
    /* Nothing of this one can go: refused whole, nothing added. */
    assert_int_equal(procreact_channel_send_wait(ch, "x", 1, NULL, 0, 50), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_int_equal(procreact_channel_queued(ch), queued);
    assert_int_equal(procreact_channel_shutdown(ch), 0);
    assert_int_equal(procreact_channel_send(ch, "y", 1, NULL, 0), -1); /* no more sends */
    assert_int_equal(errno, EPIPE);
    other = procreact_channel_open_fd(peer, PROCREACT_CHANNEL_FRAMED);
    assert_non_null(other);
    while (got == 0) {
        procreact_channel_flush(ch, 0);
        if (procreact_channel_try_recv(other, &m) == 0) {
            expect_message(m, kBig, 4);
            procreact_message_free(m);
            got = 1;
        } else {
            assert_int_equal(errno, EAGAIN);
        }
    }
    /* The queue written, the peer reads the end; our side still receives. */
    assert_int_equal(procreact_channel_recv(other, &m, 5000), 1);
    assert_int_equal(procreact_channel_send_wait(other, "back", 4, NULL, 0, -1), 0);
    assert_int_equal(procreact_channel_recv(ch, &m, 5000), 0);
    assert_memory_equal(procreact_message_data(m), "back", 4);
    procreact_message_free(m);
    procreact_channel_free(other);
    assert_int_equal(procreact_channel_recv(ch, &m, 5000), 1);
    procreact_channel_free(ch);
    free(big);
}

/* A peer that is gone: EPIPE, and no SIGPIPE. */
static void test_send_to_closed_peer(void **state)
{
    int peer;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    (void)state;
    close(peer);
    assert_int_equal(procreact_channel_send(ch, "x", 1, NULL, 0), -1);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(procreact_channel_send(ch, "x", 1, NULL, 0), -1);
    assert_int_equal(errno, EPIPE);
    procreact_channel_free(ch);
    assert_null(procreact_channel_open_fd(-1, PROCREACT_CHANNEL_FRAMED));
    assert_int_equal(errno, EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_backpressure),
        cmocka_unit_test(test_send_wait_and_shutdown),
        cmocka_unit_test(test_send_to_closed_peer),
    };
    return cmocka_run_group_tests_name("channel_send", tests, NULL, NULL);
}
