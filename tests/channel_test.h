/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the channel tests (test_channel*.c): socket pairs, data
 * patterns, exact reads.
 */
#ifndef PROCREACT_CHANNEL_TEST_H
#define PROCREACT_CHANNEL_TEST_H

#include "test.h"

#include <sys/socket.h>

#include <procreact_channel.h>

/* ------------------------------------------------------------ helpers */

/* The highest open descriptor. */
static inline int t_highest_fd(void)
{
    int fd, high = -1;
    for (fd = 0; fd < 4096; ++fd)
        if (fcntl(fd, F_GETFD) != -1)
            high = fd;
    return high;
}

/* A connected pair: *ours as a framed or line channel, *peer raw. */
static inline ProcReact_Channel *pair_channel(ProcReact_ChannelMode mode, int *peer)
{
    int sv[2];
    ProcReact_Channel *ch;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ch = procreact_channel_open_fd(sv[0], mode);
    assert_non_null(ch);
    *peer = sv[1];
    return ch;
}

/* A framed message as Python's send_bytes() writes it, into @p out; its length. */
static inline size_t frame(const void *data, uint32_t size, unsigned char *out)
{
    out[0] = (unsigned char)(size >> 24);
    out[1] = (unsigned char)(size >> 16);
    out[2] = (unsigned char)(size >> 8);
    out[3] = (unsigned char)size;
    memcpy(out + 4, data, size);
    return size + 4;
}

/* Reads exactly @p len bytes from @p fd. */
static inline void read_exact(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n > 0);
        got += (size_t)n;
    }
}

/* The next message must be @p size bytes of pattern starting at @p seed. */
static inline void expect_message(ProcReact_Message *m, size_t size, unsigned seed)
{
    const unsigned char *p = procreact_message_data(m);
    size_t i;
    assert_int_equal(procreact_message_size(m), size);
    for (i = 0; i < size; ++i)
        if (p[i] != (unsigned char)(seed + i * 7))
            fail_msg("byte %zu of a %zu-byte message differs", i, size);
}

static inline void fill(unsigned char *p, size_t size, unsigned seed)
{
    size_t i;
    for (i = 0; i < size; ++i)
        p[i] = (unsigned char)(seed + i * 7);
}

#endif /* PROCREACT_CHANNEL_TEST_H */
