/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the channel's frame parser, fed a byte stream through a
 * socket pair in chunks chosen by the fuzzer, must give exactly the messages
 * a reference parser finds in the whole stream at once, in order, and then
 * the same end: clean, EMSGSIZE (a length over the maximum), EPROTO (a
 * negative length) or ECONNRESET (the stream ends inside a message).
 *
 * Input layout: bytes 0-1 steer the chunking (feed.h), byte 2 the mode (bit
 * 0: lines) and the maximum message size (1 << (bits 1-4), at least 2), the
 * rest is the stream.
 */
#include "feed.h"

#include <sys/socket.h>

#include <procreact_channel.h>

typedef struct {
    size_t at, len; /* where the message's bytes are in the stream */
} Expected;

/* The reference: the messages of @p s and the end's errno (0: clean). */
static int reference(const uint8_t *s, size_t n, int lines, uint64_t max, Expected *out, size_t *count)
{
    size_t at = 0;
    *count = 0;
    if (lines) {
        size_t begin = 0;
        for (at = 0; at < n; ++at) {
            if (at - begin > max)
                return EMSGSIZE;
            if (s[at] == '\n') {
                out[*count].at = begin;
                out[(*count)++].len = at - begin;
                begin = at + 1;
            }
        }
        if (n - begin > max)
            return EMSGSIZE;
        return begin == n ? 0 : ECONNRESET;
    }
    while (at < n) {
        uint64_t len;
        if (n - at < 4)
            return ECONNRESET;
        len = ((uint64_t)s[at] << 24) | ((uint64_t)s[at + 1] << 16) | ((uint64_t)s[at + 2] << 8) | s[at + 3];
        at += 4;
        if (len == 0xffffffffu) {
            if (n - at < 8)
                return ECONNRESET;
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = (len << 8) | s[at + (size_t)i];
            at += 8;
            if (len > (uint64_t)INT64_MAX)
                return EPROTO;
        } else if (len > 0x7fffffffu) {
            return EPROTO;
        }
        if (len > max)
            return EMSGSIZE;
        if (n - at < len)
            return ECONNRESET;
        out[*count].at = at;
        out[(*count)++].len = (size_t)len;
        at += (size_t)len;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FeedPlan plan;
    int sv[2];
    if (!feed_plan(data, size, &plan))
        return 0;
    const int lines = plan.delimiter & 1;
    const uint64_t max = (uint64_t)1 << (1 + ((unsigned)plan.delimiter >> 1) % 16);
    Expected *want = malloc((plan.out_len + 1) * sizeof *want);
    size_t count, got = 0, left = plan.out_len;
    const int end = reference(plan.out, plan.out_len, lines, max, want, &count);
    if (want == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    ProcReact_Channel *ch = procreact_channel_open_fd(sv[0], lines ? PROCREACT_CHANNEL_LINES : PROCREACT_CHANNEL_FRAMED);
    if (ch == NULL || procreact_channel_set_max_message(ch, max) != 0)
        abort();
    const uint8_t *p = plan.out;
    int r = -1, error = 0, closed = 0;
    for (;;) {
        ProcReact_Message *m;
        if (left > 0) {
            const size_t n = feed_next_chunk(&plan, left);
            if (write(sv[1], p, n) != (ssize_t)n) /* at most 64 KiB in flight: never blocks */
                abort();
            p += n;
            left -= n;
        }
        if (left == 0 && !closed) {
            close(sv[1]);
            closed = 1;
        }
        while ((r = procreact_channel_try_recv(ch, &m)) == 0) {
            if (got >= count || procreact_message_size(m) != want[got].len ||
                memcmp(procreact_message_data(m), plan.out + want[got].at, want[got].len) != 0)
                abort(); /* a message the reference does not have, or different bytes */
            ++got;
            procreact_message_free(m);
        }
        error = errno;
        if (r == 1 || (r == -1 && error != EAGAIN))
            break;
        if (left == 0) {
            /* Everything written and closed: the end must come. */
            r = procreact_channel_recv(ch, &m, 5000);
            if (r == 0)
                abort();
            error = errno;
            break;
        }
    }
    if (!closed)
        close(sv[1]);
    /* The same messages and the same end (an error may come before the stream is all written). */
    if (got != count || (end == 0 ? r != 1 : (r != -1 || error != end)))
        abort();
    procreact_channel_free(ch);
    free(want);
    return 0;
}
