/* SPDX-License-Identifier: MIT */
/*
 * procreact_channel.h without children: descriptors passed with messages
 * (253 at most, each once whatever the partial writes, MSG_CTRUNC
 * reported), and a program's channel opened from the descriptor that its
 * environment names.
 */
#include "channel_test.h"

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
        cmocka_unit_test(test_child_open_from_environment),
        cmocka_unit_test(test_fds_253_pass_254_fail),
        cmocka_unit_test(test_fds_partial_write_never_twice),
        cmocka_unit_test(test_fds_truncated_reported),
    };
    return cmocka_run_group_tests_name("channel_fds", tests, NULL, NULL);
}
