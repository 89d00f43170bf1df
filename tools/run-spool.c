/* SPDX-License-Identifier: MIT */
/* procreact-run: a job's captured stream, in memory up to a bound, then in an unlinked temporary file. */
#define _GNU_SOURCE
#include "run-spool.h"
#include "run-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64u * 1024u)

static size_t g_memory; /* bytes held in memory by all spools */

void spool_init(Spool *s)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

void spool_free(Spool *s)
{
    g_memory -= s->cap;
    free(s->mem);
    if (s->fd >= 0)
        close(s->fd);
    spool_init(s);
}

static int open_temporary(void)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    /* No O_TMPFILE on this file system: a named file, unlinked at once. */
    size_t len = strlen(dir) + sizeof "/procreact-run.XXXXXX";
    char *path = xmalloc(len);
    snprintf(path, len, "%s/procreact-run.XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    free(path);
    return fd;
}

static int write_file(Spool *s, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(s->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
        s->file_len += n;
    }
    return 0;
}

/* Moves the bytes in memory to a new temporary file; 0, or -1 with errno. */
static int spill(Spool *s)
{
    s->fd = open_temporary();
    if (s->fd < 0)
        return -1;
    if (write_file(s, s->mem, s->len) != 0)
        return -1;
    g_memory -= s->cap;
    free(s->mem);
    s->mem = NULL;
    s->len = s->cap = 0;
    return 0;
}

/* Makes room for @p more bytes in memory, or moves to the file; 1 when the
 * bytes go to memory, 0 when they go to the file. */
static int room(Spool *s, size_t more)
{
    if (s->error != 0)
        return 0;
    if (s->fd < 0 && s->cap - s->len >= more)
        return 1;
    if (s->fd < 0) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap - s->len < more)
            cap *= 2;
        if (cap <= SPOOL_MEMORY_EACH && g_memory - s->cap + cap <= SPOOL_MEMORY_TOTAL) {
            s->mem = xrealloc(s->mem, cap);
            g_memory += cap - s->cap;
            s->cap = cap;
            return 1;
        }
        if (spill(s) != 0)
            s->error = errno;
    }
    return 0;
}

void spool_add(Spool *s, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (room(s, len)) {
        memcpy(s->mem + s->len, data, len);
        s->len += len;
    } else if (s->error == 0 && write_file(s, data, len) != 0) {
        s->error = errno;
    }
}

ssize_t spool_read_from(Spool *s, int fd)
{
    char chunk[CHUNK];
    if (s->fd >= 0 && s->error == 0) {
        /* Spilled: straight from the pipe into the file, no copy through here. */
        ssize_t n;
        do
            n = splice(fd, NULL, s->fd, NULL, 1u << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        while (n < 0 && errno == EINTR);
        if (n >= 0) {
            s->file_len += n;
            return n;
        }
        if (errno == EAGAIN)
            return -1;
        /* No splice here (not a pipe, or a file system without it): read below. */
    }
    ssize_t n;
    do
        n = read(fd, chunk, sizeof chunk);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        spool_add(s, chunk, (size_t)n);
    return n;
}

unsigned long long spool_size(const Spool *s)
{
    return s->fd >= 0 ? (unsigned long long)s->file_len : s->len;
}

int spool_each(const Spool *s, int (*fn)(void *ctx, const char *data, size_t len), void *ctx)
{
    if (s->fd < 0) {
        for (size_t at = 0; at < s->len; at += CHUNK) {
            size_t n = s->len - at < CHUNK ? s->len - at : CHUNK;
            int r = fn(ctx, s->mem + at, n);
            if (r != 0)
                return r;
        }
        return 0;
    }
    char *chunk = xmalloc(CHUNK);
    int r = 0;
    for (off_t at = 0; at < s->file_len && r == 0;) {
        ssize_t n = pread(s->fd, chunk, CHUNK, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        at += n;
        r = fn(ctx, chunk, (size_t)n);
    }
    free(chunk);
    return r;
}
