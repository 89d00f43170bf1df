/* SPDX-License-Identifier: MIT */
/* procreact-run: growable byte buffers, allocation that ends on exhaustion, clocks. */
#define _GNU_SOURCE
#include "run-util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void die_oom(void)
{
    static const char msg[] = "procreact-run: out of memory\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    _exit(EXIT_JOB_FAILED);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        die_oom();
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        die_oom();
    return p;
}

void *xrealloc(void *p, size_t size)
{
    void *grown = realloc(p, size ? size : 1);
    if (grown == NULL)
        die_oom();
    return grown;
}

char *xstrdup(const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL)
        die_oom();
    return copy;
}

void buf_reserve(Buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_add(Buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void buf_str(Buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_printf(Buf *b, const char *format, ...)
{
    va_list ap;
    char small[128];
    va_start(ap, format);
    int n = vsnprintf(small, sizeof small, format, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        buf_add(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, format);
    vsnprintf(b->data + b->len, (size_t)n + 1, format, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *buf_take(Buf *b)
{
    buf_reserve(b, 1);
    b->data[b->len] = '\0';
    char *s = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void buf_free(Buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *shell_quote(const char *s)
{
    Buf b = {0};
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%^", *p))
            plain = 0;
    if (plain)
        return xstrdup(s);
    buf_add(&b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            buf_str(&b, "'\\''");
        else
            buf_add(&b, p, 1);
    }
    buf_add(&b, "'", 1);
    return buf_take(&b);
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double monotonic_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

double realtime_s(void)
{
    return clock_s(CLOCK_REALTIME);
}
