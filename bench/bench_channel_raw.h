/* SPDX-License-Identifier: MIT */
/*
 * bench-channel's baseline: hand-written loops on a raw AF_UNIX socketpair
 * with the channel's framing (4-byte big-endian length), parent and forked
 * child: an echo for the round trip, one write per message one way, one
 * bulk message.
 */
#ifndef PROCREACT_BENCH_CHANNEL_RAW_H
#define PROCREACT_BENCH_CHANNEL_RAW_H

#include "bench.h"

#include <stdint.h>
#include <sys/socket.h>

enum { kSmall = 64, kOneWay = 200000, kRoundTripSize = 16 };
#define kBulk ((size_t)64 << 20)

static long g_iterations = 20000;
static unsigned char *g_bulk;

static int raw_read_all(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        const ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int raw_write_all(int fd, const void *buf, size_t len)
{
    size_t put = 0;
    while (put < len) {
        const ssize_t n = write(fd, (const char *)buf + put, len - put);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        put += (size_t)n;
    }
    return 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Forks a raw child running @p body on its end; returns the parent's end. */
static int raw_child(void (*body)(int), pid_t *pid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    *pid = fork();
    if (*pid == 0) {
        close(sv[0]);
        body(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    return sv[0];
}

static void raw_echo(int fd)
{
    unsigned char buf[4 + kRoundTripSize];
    for (;;) {
        if (raw_read_all(fd, buf, 4) != 0)
            return;
        const uint32_t n = get_be32(buf);
        if (raw_read_all(fd, buf + 4, n) != 0 || raw_write_all(fd, buf, 4 + n) != 0)
            return;
    }
}

static int raw_roundtrip(void *ctx)
{
    (void)ctx;
    pid_t pid;
    const int fd = raw_child(raw_echo, &pid);
    unsigned char buf[4 + kRoundTripSize] = {0};
    put_be32(buf, kRoundTripSize);
    for (long i = 0; i < g_iterations; ++i)
        if (raw_write_all(fd, buf, sizeof buf) != 0 || raw_read_all(fd, buf, sizeof buf) != 0)
            return -1;
    close(fd);
    return bench_wait_ok(pid) ? 0 : -1;
}

static void raw_send_small(int fd)
{
    unsigned char buf[4 + kSmall] = {0};
    put_be32(buf, kSmall);
    for (int i = 0; i < kOneWay; ++i)
        if (raw_write_all(fd, buf, sizeof buf) != 0)
            return;
}

static int raw_oneway(void *ctx)
{
    (void)ctx;
    pid_t pid;
    const int fd = raw_child(raw_send_small, &pid);
    static unsigned char buf[65536];
    size_t have = 0;
    int count = 0;
    /* A reader as one would write it: big reads, frames cut out of them. */
    while (count < kOneWay) {
        const ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        size_t at = 0;
        while (have - at >= 4 && have - at >= 4 + get_be32(buf + at)) {
            at += 4 + get_be32(buf + at);
            ++count;
        }
        memmove(buf, buf + at, have - at);
        have -= at;
    }
    close(fd);
    return bench_wait_ok(pid) ? 0 : -1;
}

static void raw_send_bulk(int fd)
{
    unsigned char head[4];
    put_be32(head, (uint32_t)kBulk);
    if (raw_write_all(fd, head, 4) == 0)
        raw_write_all(fd, g_bulk, kBulk);
}

static int raw_bulk(void *ctx)
{
    (void)ctx;
    pid_t pid;
    const int fd = raw_child(raw_send_bulk, &pid);
    unsigned char head[4];
    unsigned char *body = malloc(kBulk);
    int rc = body != NULL && raw_read_all(fd, head, 4) == 0 && get_be32(head) == kBulk &&
                     raw_read_all(fd, body, kBulk) == 0
                 ? 0
                 : -1;
    free(body);
    close(fd);
    return bench_wait_ok(pid) && rc == 0 ? 0 : -1;
}

#endif /* PROCREACT_BENCH_CHANNEL_RAW_H */
