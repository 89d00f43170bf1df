/* SPDX-License-Identifier: MIT */
/* procreact-run: writing results out: whole spools, tagged lines, JSON strings; a reader that left. */
#define _GNU_SOURCE
#include "run-output.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

volatile sig_atomic_t g_stop_signal;
OutputState g_output;

#define FLUSH_AT (64u * 1024u)

static int failed(int err)
{
    if (err == EPIPE)
        g_output.broken = 1;
    else if (err == EINTR)
        g_output.gave_up = 1;
    else if (g_output.error == 0)
        g_output.error = err;
    return -1;
}

static int stopped(void)
{
    return g_output.broken || g_output.error != 0 || g_output.gave_up;
}

/* Once a signal stopped the run, a reader that reads nothing must not hold
 * it: each write waits at most STOPPING_WAIT_MS for room, and writes at
 * most PIPE_BUF bytes (which fit once a pipe has room), else the output
 * is given up. */
#define STOPPING_WAIT_MS 1000

static int room_to_write(int fd)
{
    struct pollfd p = {fd, POLLOUT, 0};
    int n;
    do
        n = poll(&p, 1, STOPPING_WAIT_MS);
    while (n < 0 && errno == EINTR);
    return n > 0;
}

int out_write(int fd, const void *data, size_t len)
{
    const char *p = data;
    if (stopped())
        return -1;
    while (len > 0) {
        size_t want = len;
        if (g_stop_signal) {
            if (!room_to_write(fd))
                return failed(EINTR);
            want = len < PIPE_BUF ? len : PIPE_BUF;
        }
        ssize_t n = write(fd, p, want);
        if (n < 0) {
            if (errno == EINTR && !g_stop_signal)
                continue;
            return failed(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int out_spool(int fd, const Spool *s)
{
    if (s->fd < 0)
        return out_write(fd, s->mem, s->len);
    if (stopped())
        return -1;
    off_t at = 0;
    while (at < s->file_len && !g_stop_signal) {
        size_t want = s->file_len - at > (1 << 30) ? (1u << 30) : (size_t)(s->file_len - at);
        ssize_t n = sendfile(fd, s->fd, &at, want);
        if (n < 0 && errno == EINTR && !g_stop_signal)
            continue;
        if (n < 0 && (errno == EINVAL || errno == ENOSYS))
            break; /* this output takes no sendfile: copy through memory below */
        if (n < 0)
            return failed(errno);
        if (n == 0)
            return 0; /* the file is shorter than written: nothing more to send */
    }
    if (at >= s->file_len)
        return 0;
    char chunk[FLUSH_AT];
    while (at < s->file_len) {
        ssize_t n = pread(s->fd, chunk, sizeof chunk, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        at += n;
        if (out_write(fd, chunk, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

typedef struct {
    int fd;
    const char *tag;
    int at_line_start;
    Buf b;
} Tagger;

static int tag_piece(void *ctx, const char *data, size_t len)
{
    Tagger *t = ctx;
    while (len > 0) {
        if (t->at_line_start)
            buf_str(&t->b, t->tag);
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) + 1 : len;
        buf_add(&t->b, data, n);
        t->at_line_start = nl != NULL;
        data += n;
        len -= n;
    }
    if (t->b.len >= FLUSH_AT) {
        int r = out_write(t->fd, t->b.data, t->b.len);
        t->b.len = 0;
        return r;
    }
    return 0;
}

int out_spool_tagged(int fd, const Spool *s, const char *tag)
{
    Tagger t = {fd, tag, 1, {0}};
    int r = spool_each(s, tag_piece, &t);
    if (r == 0 && !t.at_line_start)
        buf_add(&t.b, "\n", 1);
    if (r == 0 && t.b.len > 0)
        r = out_write(fd, t.b.data, t.b.len);
    buf_free(&t.b);
    return r;
}

/* The length of the valid UTF-8 sequence at @p s (@p n bytes there): > 0;
 * 0 when it is not valid UTF-8; -1 when it is a valid start cut short. */
static int utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if (i >= n)
            return -1;
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (s[i] < l || s[i] > h)
            return 0;
    }
    return (int)len;
}

/* Encodes what it can of @p s; returns the bytes used (fewer than @p len
 * only when a valid sequence is cut short at the end and @p final is 0). */
static size_t encode(Buf *b, const unsigned char *s, size_t len, int final)
{
    size_t i = 0;
    buf_reserve(b, len + 8);
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            size_t j = i + 1;
            while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
                j++;
            buf_add(b, s + i, j - i);
            i = j;
            continue;
        }
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t' ? "\\t"
                                                                              : c == '\r' ? "\\r" : NULL;
        if (esc != NULL) {
            buf_str(b, esc);
            i++;
            continue;
        }
        if (c < 0x20) {
            buf_printf(b, "\\u%04x", c);
            i++;
            continue;
        }
        int seq = utf8_sequence(s + i, len - i);
        if (seq < 0 && !final)
            return i;
        if (seq <= 0) {
            buf_str(b, "\\ufffd");
            i++;
        } else {
            buf_add(b, s + i, (size_t)seq);
            i += (size_t)seq;
        }
    }
    return i;
}

void json_begin(JsonString *j, Buf *out)
{
    j->out = out;
    j->ncarry = 0;
    buf_add(out, "\"", 1);
}

void json_feed(JsonString *j, const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    while (j->ncarry > 0 && len > 0) {
        /* Finish the sequence cut at the end of the last piece. */
        j->carry[j->ncarry++] = *s++;
        len--;
        size_t used = encode(j->out, j->carry, j->ncarry, 0);
        memmove(j->carry, j->carry + used, j->ncarry - used);
        j->ncarry -= used;
    }
    size_t used = encode(j->out, s, len, 0);
    memcpy(j->carry, s + used, len - used);
    j->ncarry = len - used;
}

void json_end(JsonString *j)
{
    encode(j->out, j->carry, j->ncarry, 1);
    j->ncarry = 0;
    buf_add(j->out, "\"", 1);
}

void json_string(Buf *out, const char *data, size_t len)
{
    JsonString j;
    json_begin(&j, out);
    json_feed(&j, data, len);
    json_end(&j);
}

typedef struct {
    int fd;
    JsonString j;
} JsonOut;

static int json_piece(void *ctx, const char *data, size_t len)
{
    JsonOut *o = ctx;
    json_feed(&o->j, data, len);
    if (o->j.out->len >= FLUSH_AT) {
        int r = out_write(o->fd, o->j.out->data, o->j.out->len);
        o->j.out->len = 0;
        return r;
    }
    return 0;
}

int out_json_spool(int fd, Buf *b, const Spool *s)
{
    JsonOut o = {fd, {0}};
    json_begin(&o.j, b);
    int r = spool_each(s, json_piece, &o);
    json_end(&o.j);
    return r;
}
