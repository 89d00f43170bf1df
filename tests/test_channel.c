/* SPDX-License-Identifier: MIT */
/*
 * procreact_channel.h without children: the frame codec (byte at a time,
 * random splits, the maximum, the >2 GiB escape, Python's Connection both
 * ways, lines), send limits and the blocking send, descriptor passing.
 * Channels with children: test_channel_children.c.
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

/* ------------------------------------------------- descriptor passing */

/* Whether @p fd is close-on-exec and the same file as @p other. */
static int same_file_cloexec(int fd, int other)
{
    struct stat a, b;
    const int flags = fcntl(fd, F_GETFD);
    return flags != -1 && (flags & FD_CLOEXEC) && fstat(fd, &a) == 0 && fstat(other, &b) == 0 &&
           a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* Takes every descriptor of @p m, checks it is @p like's file, closes it. */
static void expect_fds(ProcReact_Message *m, unsigned count, int like)
{
    unsigned i;
    assert_int_equal(procreact_message_fd_count(m), count);
    for (i = 0; i < count; ++i) {
        const int fd = procreact_message_take_fd(m, i);
        assert_true(fd >= 0);
        assert_true(same_file_cloexec(fd, like));
        close(fd);
    }
    assert_int_equal(procreact_message_take_fd(m, 0), -1); /* taken */
}

/* 253 descriptors go with one message; 254 are refused, nothing sent. */
static void test_fds_253_pass_254_fail(void **state)
{
    int fds[254], p[2], peer, i, before;
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    ProcReact_Channel *other;
    ProcReact_Message *m = NULL;
    (void)state;
    before = t_count_fds();
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    for (i = 0; i < 254; ++i)
        fds[i] = p[0];
    assert_int_equal(procreact_channel_send(ch, "many", 4, fds, 254), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_channel_send(ch, "many", 4, fds, 253), 0);
    other = procreact_channel_open_fd(peer, PROCREACT_CHANNEL_FRAMED);
    assert_non_null(other);
    assert_int_equal(procreact_channel_recv(other, &m, 5000), 0);
    assert_int_equal(procreact_message_size(m), 4);
    assert_false(procreact_message_fds_truncated(m));
    expect_fds(m, 253, p[0]);
    procreact_message_free(m);
    /* Nothing else came: the refused message sent no byte. */
    assert_int_equal(procreact_channel_try_recv(other, &m), -1);
    assert_int_equal(errno, EAGAIN);
    procreact_channel_free(ch);
    procreact_channel_free(other);
    close(p[0]);
    close(p[1]);
    assert_int_equal(t_count_fds(), before - 2); /* no copy left anywhere */
}

/* Partial writes (a tiny send buffer): descriptors arrive once, with
 * their own message, whether they went with the direct write or from the
 * queue; no queued copy is left open. */
static void test_fds_partial_write_never_twice(void **state)
{
    enum { kBig = 1 << 20 };
    int p[2], peer, got = 0, small = 4096, before;
    unsigned char *big = malloc(kBig);
    ProcReact_Channel *ch = pair_channel(PROCREACT_CHANNEL_FRAMED, &peer);
    ProcReact_Channel *other;
    ProcReact_Message *m = NULL;
    static const unsigned want_fds[] = {3, 0, 2, 0};
    static const size_t want_size[] = {kBig, kBig, kBig, 5};
    (void)state;
    assert_non_null(big);
    before = t_count_fds();
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(setsockopt(procreact_channel_fd(ch), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    assert_int_equal(procreact_channel_set_queue_limits(ch, 8u << 20, 16u << 20), 0);
    fill(big, kBig, 9);
    {
        const int three[3] = {p[0], p[0], p[0]}, two[2] = {p[1], p[1]};
        /* Straight to the socket, which takes only part: the descriptors went with it. */
        assert_true(procreact_channel_send(ch, big, kBig, three, 3) >= 0);
        assert_true(procreact_channel_queued(ch) > 0);
        /* Queued behind: duplicates, sent with their message's first byte. */
        assert_true(procreact_channel_send(ch, big, kBig, NULL, 0) >= 0);
        assert_true(procreact_channel_send(ch, big, kBig, two, 2) >= 0);
        assert_true(procreact_channel_send(ch, "after", 5, NULL, 0) >= 0);
    }
    other = procreact_channel_open_fd(peer, PROCREACT_CHANNEL_FRAMED);
    assert_non_null(other);
    while (got < 4) {
        procreact_channel_flush(ch, 0);
        while (procreact_channel_try_recv(other, &m) == 0) {
            assert_int_equal(procreact_message_size(m), want_size[got]);
            expect_fds(m, want_fds[got], got == 0 ? p[0] : p[1]);
            procreact_message_free(m);
            ++got;
        }
        assert_int_equal(errno, EAGAIN);
    }
    assert_int_equal(procreact_channel_queued(ch), 0);
    procreact_channel_free(ch);
    procreact_channel_free(other);
    close(p[0]);
    close(p[1]);
    assert_int_equal(t_count_fds(), before - 2);
    free(big);
}

/* The receiver cannot take them all (descriptor limit): MSG_CTRUNC is
 * reported with the message, and what arrived is in it. */
static int ctrunc_scenario(void)
{
    int fds[10], p[2], sv[2], i, got;
    struct rlimit lim;
    ProcReact_Channel *ours, *theirs;
    ProcReact_Message *m = NULL;
    CHECK(1, pipe2(p, O_CLOEXEC) == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    ours = procreact_channel_open_fd(sv[0], PROCREACT_CHANNEL_FRAMED);
    theirs = procreact_channel_open_fd(sv[1], PROCREACT_CHANNEL_FRAMED);
    CHECK(2, ours != NULL && theirs != NULL);
    for (i = 0; i < 10; ++i)
        fds[i] = p[0];
    CHECK(3, procreact_channel_send(ours, "ten", 3, fds, 10) == 0);
    /* Room for three more descriptors only: the gaps below the limit are filled. */
    CHECK(4, getrlimit(RLIMIT_NOFILE, &lim) == 0);
    lim.rlim_cur = (rlim_t)(t_highest_fd() + 4);
    CHECK(4, setrlimit(RLIMIT_NOFILE, &lim) == 0);
    for (;;) {
        int free_slots = 0, fd;
        for (fd = 0; fd < (int)lim.rlim_cur; ++fd)
            free_slots += fcntl(fd, F_GETFD) == -1;
        if (free_slots <= 3)
            break;
        CHECK(9, dup(p[1]) >= 0);
    }
    CHECK(5, procreact_channel_recv(theirs, &m, 5000) == 0);
    CHECK(6, procreact_message_size(m) == 3);
    got = (int)procreact_message_fd_count(m);
    if (t_under_valgrind()) {
        /* valgrind keeps the limit it is told for itself (the kernel's stays
         * higher), so nothing is truncated there: all ten arrive, unflagged. */
        CHECK(7, !procreact_message_fds_truncated(m) && got == 10);
    } else {
        CHECK(7, procreact_message_fds_truncated(m));
        CHECK(8, got < 10);
    }
    procreact_message_free(m);
    procreact_channel_free(ours);
    procreact_channel_free(theirs);
    return 0;
}

static void test_fds_truncated_reported(void **state)
{
    (void)state;
    assert_int_equal(t_isolated(ctrunc_scenario, 20), 0);
}

/* A program's side, from its environment: the number, the mode, errors. */
static void test_child_open_from_environment(void **state)
{
    int sv[2];
    char number[16];
    ProcReact_Channel *ch;
    ProcReact_Message *m = NULL;
    (void)state;
    unsetenv(PROCREACT_CHANNEL_FD_ENV);
    assert_null(procreact_channel_child_open());
    assert_int_equal(errno, ENOENT);
    setenv(PROCREACT_CHANNEL_FD_ENV, "12x", 1);
    assert_null(procreact_channel_child_open());
    assert_int_equal(errno, EBADF);
    setenv(PROCREACT_CHANNEL_FD_ENV, "1000", 1); /* not open */
    assert_null(procreact_channel_child_open());
    assert_int_equal(errno, EBADF);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0); /* inherited: not close-on-exec */
    snprintf(number, sizeof number, "%d", sv[1]);
    setenv(PROCREACT_CHANNEL_FD_ENV, number, 1);
    setenv(PROCREACT_CHANNEL_MODE_ENV, "lines", 1);
    ch = procreact_channel_child_open();
    assert_non_null(ch);
    assert_int_equal(procreact_channel_fd(ch), sv[1]);
    assert_true(fcntl(sv[1], F_GETFD) & FD_CLOEXEC); /* not handed on to its programs */
    assert_int_equal(t_write_all(sv[0], "line\n", 5), 0);
    assert_int_equal(procreact_channel_recv(ch, &m, 2000), 0); /* line mode, from the variable */
    assert_int_equal(procreact_message_size(m), 4);
    procreact_message_free(m);
    procreact_channel_free(ch);
    unsetenv(PROCREACT_CHANNEL_FD_ENV);
    unsetenv(PROCREACT_CHANNEL_MODE_ENV);
    close(sv[0]);
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
        cmocka_unit_test(test_send_backpressure),
        cmocka_unit_test(test_send_wait_and_shutdown),
        cmocka_unit_test(test_send_to_closed_peer),
        cmocka_unit_test(test_child_open_from_environment),
        cmocka_unit_test(test_fds_253_pass_254_fail),
        cmocka_unit_test(test_fds_partial_write_never_twice),
        cmocka_unit_test(test_fds_truncated_reported),
    };
    return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
