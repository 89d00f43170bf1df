/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets: feed a byte string to a type's append function
 * through a pipe, cut into chunks chosen by the fuzzer, then finalize it
 * against a real child that has exited with code 0.
 *
 * Input layout: byte 0 and 1 steer the chunking (a seed and a maximum chunk
 * size), byte 2 is the delimiter (string-array target), the rest is the
 * child's output.
 */
#ifndef PROCREACT_FUZZ_FEED_H
#define PROCREACT_FUZZ_FEED_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <procreact_types.h>

#define FEED_HEADER 3
#define FEED_MAX_CHUNK 65536 /* never more than a pipe holds: writes do not block */

typedef struct {
    uint32_t seed;
    size_t max_chunk;
    char delimiter;
    const uint8_t *out;
    size_t out_len;
} FeedPlan;

static int feed_plan(const uint8_t *data, size_t size, FeedPlan *plan)
{
    if (size < FEED_HEADER)
        return 0;
    plan->seed = (uint32_t)data[0] * 2654435761u + 1;
    /* maximum chunk: 1, 2, 4 ... 65536 bytes */
    plan->max_chunk = (size_t)1 << (data[1] % 17);
    plan->delimiter = (char)data[2];
    plan->out = data + FEED_HEADER;
    plan->out_len = size - FEED_HEADER;
    return 1;
}

static size_t feed_next_chunk(FeedPlan *plan, size_t left)
{
    plan->seed ^= plan->seed << 13;
    plan->seed ^= plan->seed >> 17;
    plan->seed ^= plan->seed << 5;
    size_t n = 1 + plan->seed % plan->max_chunk;
    /* at most about 2048 chunks per input, so that long inputs stay fast;
     * short inputs can still be cut at every byte */
    const size_t floor = plan->out_len / 2048;
    if (n < floor)
        n = floor;
    return n < left ? n : left;
}

static void feed_die(const char *what)
{
    (void)!write(2, what, strlen(what));
    abort();
}

/* Writes each chunk into a pipe and calls @p type's append until the chunk is
 * consumed, so each append sees exactly the chunk boundaries. @p whole feeds
 * everything as one chunk (up to FEED_MAX_CHUNK at a time). */
static void feed(ProcReact_Type *type, void *state, FeedPlan *plan, int whole)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        feed_die("pipe2 failed\n");
    size_t off = 0;
    while (off < plan->out_len) {
        const size_t left = plan->out_len - off;
        size_t n = whole ? (left < FEED_MAX_CHUNK ? left : FEED_MAX_CHUNK) : feed_next_chunk(plan, left);
        ssize_t w = write(p[1], plan->out + off, n);
        if (w != (ssize_t)n)
            feed_die("short write into the pipe\n");
        size_t got = 0;
        while (got < n) {
            ssize_t r = type->append(type, state, p[0]);
            if (r <= 0)
                feed_die("append returned <= 0 with data pending\n");
            got += (size_t)r;
        }
        if (got != n)
            feed_die("append read past the chunk\n");
        off += n;
    }
    close(p[1]);
    if (type->append(type, state, p[0]) != 0)
        feed_die("append did not see end of stream\n");
    close(p[0]);
}

/* A real child that has already exited with code 0, for finalize to wait for. */
static pid_t exited_child(void)
{
    /* vfork: no page tables to copy, so the target stays fast under ASan */
    pid_t pid = vfork();
    if (pid == 0)
        _exit(0);
    if (pid < 0)
        feed_die("fork failed\n");
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR)
        ;
    return pid;
}

#endif /* PROCREACT_FUZZ_FEED_H */
