/* SPDX-License-Identifier: MIT */
/*
 * procreact_channel.h without children: the frame codec (byte at a time,
 * random splits, the maximum, the >2 GiB escape, Python's Connection both
 * ways) and lines. Sending: test_channel_send.c; descriptor passing:
 * test_channel_fds.c; channels with children: test_channel_children.c.
 */
#include "channel_test.h"

/* ---------------------------------------------------------- the codec */

/* Fed one byte at a time, a message appears exactly with its last byte. */
static void test_frame_byte_at_a_time(void **state)
{
    static const size_t sizes[] = {0, 1, 5, 300, 20000};
    unsigned char *buf = malloc(20004);
    int peer;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    size_t k;
    (void)state;
    assert_non_null(buf);
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
        unsigned char *body = malloc(sizes[k] + 1);
        size_t len, i;
        ProcReact_Message *m = NULL;
        fill(body, sizes[k], (unsigned)k);
        len = frame(body, (uint32_t)sizes[k], buf);
        for (i = 0; i < len; ++i) {
            assert_int_equal(write(peer, buf + i, 1), 1);
            if (i + 1 < len) {
                assert_int_equal(procreact_channel_try_recv(ch, &m), -1);
                assert_int_equal(errno, EAGAIN);
                assert_null(m);
            }
        }
        assert_int_equal(procreact_channel_try_recv(ch, &m), 0);
        expect_message(m, sizes[k], (unsigned)k);
        procreact_message_free(m);
        assert_int_equal(procreact_channel_try_recv(ch, &m), -1);
        assert_int_equal(errno, EAGAIN);
        free(body);
    }
    close(peer);
    {
        ProcReact_Message *m = NULL;
        assert_int_equal(procreact_channel_recv(ch, &m, 1000), 1); /* a clean end */
        assert_null(m);
    }
    procreact_channel_free(ch);
    free(buf);
}

/* Many messages written at random split points arrive whole and in order. */
static void test_frame_random_splits(void **state)
{
    enum { kMessages = 400 };
    size_t sizes[kMessages], total = 0, off = 0, at = 0;
    unsigned char *stream;
    int peer, received = 0;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    unsigned seed = 12345;
    int i;
    (void)state;
    srand(seed);
    for (i = 0; i < kMessages; ++i) {
        sizes[i] = (i % 50 == 49) ? 70000 + (size_t)(rand() % 5000) : (size_t)(rand() % 600);
        total += sizes[i] + 4;
    }
    stream = malloc(total);
    assert_non_null(stream);
    for (i = 0; i < kMessages; ++i) {
        unsigned char *body = malloc(sizes[i] + 1);
        fill(body, sizes[i], (unsigned)i);
        off += frame(body, (uint32_t)sizes[i], stream + off);
        free(body);
    }
    while (at < total) {
        size_t chunk = 1 + (size_t)(rand() % 9000);
        ProcReact_Message *m;
        if (chunk > total - at)
            chunk = total - at;
        assert_int_equal(t_write_all(peer, stream + at, chunk), 0);
        at += chunk;
        while (procreact_channel_try_recv(ch, &m) == 0) {
            expect_message(m, sizes[received], (unsigned)received);
            procreact_message_free(m);
            ++received;
        }
        assert_int_equal(errno, EAGAIN);
    }
    assert_int_equal(received, kMessages);
    close(peer);
    procreact_channel_free(ch);
    free(stream);
}

/* Exactly the maximum passes; one more byte fails from the header alone. */
static void test_frame_maximum(void **state)
{
    unsigned char buf[1100];
    unsigned char body[1001];
    ProcReact_Message *m = NULL;
    int peer;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    (void)state;
    assert_int_equal(procreact_channel_set_max_message(ch, 1000), 0);
    fill(body, sizeof body, 3);
    assert_int_equal(t_write_all(peer, buf, frame(body, 1000, buf)), 0);
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), 0);
    expect_message(m, 1000, 3);
    procreact_message_free(m);
    /* Only the header of a 1001-byte message: the error needs no body. */
    frame(body, 1001, buf);
    assert_int_equal(t_write_all(peer, buf, 4), 0);
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_null(m);
    procreact_channel_free(ch);
    close(peer);

    /* An escaped header announcing 2^62 bytes: refused before any
     * allocation (an attempt would have failed with ENOMEM). */
    ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    {
        static const unsigned char huge[12] = {0xff, 0xff, 0xff, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0};
        assert_int_equal(t_write_all(peer, huge, sizeof huge), 0);
    }
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), -1);
    assert_int_equal(errno, EMSGSIZE);
    procreact_channel_free(ch);
    close(peer);
    assert_int_equal(procreact_channel_set_max_message(NULL, 1), -1);
}

/* The 8-byte escape is read for any length; a negative length is refused. */
static void test_frame_escape_and_bad_header(void **state)
{
    static const unsigned char escaped[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c'};
    static const unsigned char negative[] = {0x80, 0, 0, 0};
    ProcReact_Message *m = NULL;
    int peer;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    (void)state;
    assert_int_equal(t_write_all(peer, escaped, sizeof escaped), 0);
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), 0);
    assert_int_equal(procreact_message_size(m), 3);
    assert_memory_equal(procreact_message_data(m), "abc", 3);
    procreact_message_free(m);
    assert_int_equal(t_write_all(peer, negative, sizeof negative), 0);
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), -1);
    assert_int_equal(errno, EPROTO);
    procreact_channel_free(ch);
    close(peer);
}

/* A stream that ends inside a message: an error, and no delivery. */
static void test_frame_partial_at_end(void **state)
{
    unsigned char buf[64], body[40];
    ProcReact_Message *m = NULL;
    int peer;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    (void)state;
    fill(body, sizeof body, 1);
    frame(body, 40, buf);
    assert_int_equal(t_write_all(peer, buf, 4 + 40), 0);
    assert_int_equal(t_write_all(peer, buf, 4 + 10), 0); /* the second one stops short */
    close(peer);
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), 0);
    expect_message(m, 40, 1);
    procreact_message_free(m);
    m = NULL;
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), -1);
    assert_int_equal(errno, ECONNRESET);
    assert_null(m);
    assert_int_equal(procreact_channel_try_recv(ch, &m), -1); /* it stays so */
    assert_int_equal(errno, ECONNRESET);
    procreact_channel_free(ch);
}

/* What we send is what Python's recv_bytes() reads, and the other way
 * round, over the socket as a Connection (a 3 MiB message included). */
static void test_python_connection_both_ways(void **state)
{
    static const char script[] =
        "import sys\n"
        "from multiprocessing.connection import Connection\n"
        "c = Connection(int(sys.argv[1]))\n"
        "while True:\n"
        "    m = c.recv_bytes()\n"
        "    if m == b'bye':\n"
        "        break\n"
        "    c.send_bytes(m[::-1])\n"
        "c.send_bytes(b'')\n"
        "c.send_bytes(bytes(range(256)) * 12288)\n";
    static const size_t sizes[] = {1, 0, 17, 16384, 16385, 100000, 3 << 20};
    int sv[2];
    char fdarg[16];
    pid_t pid;
    size_t k;
    ProcReact_Channel *ch;
    ProcReact_Message *m = NULL;
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    snprintf(fdarg, sizeof fdarg, "%d", sv[1]);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fcntl(sv[1], F_SETFD, 0);
        execl("/usr/bin/python3", "python3", "-c", script, fdarg, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    ch = procreact_channel_open_fd(sv[0], PROCREACT_CHANNEL_FRAMED);
    assert_non_null(ch);
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
        unsigned char *body = malloc(sizes[k] + 1);
        const unsigned char *got;
        size_t i;
        fill(body, sizes[k], (unsigned)k);
        assert_true(procreact_channel_send(ch, body, sizes[k], NULL, 0) >= 0);
        assert_int_equal(procreact_channel_flush(ch, 10000), 0);
        assert_int_equal(procreact_channel_recv(ch, &m, 10000), 0);
        assert_int_equal(procreact_message_size(m), sizes[k]);
        got = procreact_message_data(m);
        for (i = 0; i < sizes[k]; ++i)
            assert_int_equal(got[i], body[sizes[k] - 1 - i]);
        procreact_message_free(m);
        free(body);
    }
    assert_int_equal(procreact_channel_send(ch, "bye", 3, NULL, 0), 0);
    assert_int_equal(procreact_channel_recv(ch, &m, 10000), 0);
    assert_int_equal(procreact_message_size(m), 0);
    procreact_message_free(m);
    assert_int_equal(procreact_channel_recv(ch, &m, 10000), 0);
    assert_int_equal(procreact_message_size(m), 256 * 12288);
    {
        const unsigned char *got = procreact_message_data(m);
        assert_int_equal(got[0], 0);
        assert_int_equal(got[255], 255);
        assert_int_equal(got[256 * 12288 - 1], 255);
    }
    procreact_message_free(m);
    assert_int_equal(procreact_channel_recv(ch, &m, 10000), 1);
    assert_int_equal(t_reap(pid), 0);
    procreact_channel_free(ch);
}

/* Line mode: one message per line, the newline added and stripped; a
 * line cut off by the end of the stream is an error. */
static void test_lines(void **state)
{
    static const char text[] = "a\nbc\n\npartial";
    static const char *const want[] = {"a", "bc", ""};
    char buf[16];
    ProcReact_Message *m = NULL;
    int peer, i;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_LINES, &peer);
    (void)state;
    assert_int_equal(t_write_all(peer, text, strlen(text)), 0);
    for (i = 0; i < 3; ++i) {
        assert_int_equal(procreact_channel_recv(ch, &m, 2000), 0);
        assert_int_equal(procreact_message_size(m), strlen(want[i]));
        assert_memory_equal(procreact_message_data(m), want[i], strlen(want[i]));
        procreact_message_free(m);
    }
    assert_int_equal(procreact_channel_try_recv(ch, &m), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(procreact_channel_send(ch, "hello", 5, NULL, 0), 0);
    read_exact(peer, buf, 6);
    assert_memory_equal(buf, "hello\n", 6);
    assert_int_equal(procreact_channel_send(ch, "two\nlines", 9, NULL, 0), -1);
    assert_int_equal(errno, EINVAL);
    close(peer);
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), -1);
    assert_int_equal(errno, ECONNRESET);
    procreact_channel_free(ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_byte_at_a_time),
        cmocka_unit_test(test_frame_random_splits),
        cmocka_unit_test(test_frame_maximum),
        cmocka_unit_test(test_frame_escape_and_bad_header),
        cmocka_unit_test(test_frame_partial_at_end),
        cmocka_unit_test(test_python_connection_both_ways),
        cmocka_unit_test(test_lines),
    };
    return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
