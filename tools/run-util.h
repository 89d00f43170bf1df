/* SPDX-License-Identifier: MIT */
/* procreact-run: growable byte buffers, allocation that ends on exhaustion, clocks. */
#ifndef PROCREACT_RUN_UTIL_H
#define PROCREACT_RUN_UTIL_H

#include <stddef.h>

#define EXIT_JOB_FAILED 1
#define EXIT_USAGE 2

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

/* Reports that memory ran out and ends the process (status 1). */
void die_oom(void);
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

void buf_reserve(Buf *b, size_t more);
void buf_add(Buf *b, const void *data, size_t len);
void buf_str(Buf *b, const char *s);
void buf_printf(Buf *b, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Ends the buffer with a NUL and hands its string over (the buffer is empty afterwards). */
char *buf_take(Buf *b);
void buf_free(Buf *b);

/* @p s quoted for /bin/sh when it needs it (malloc'ed). */
char *shell_quote(const char *s);

double monotonic_s(void);
double realtime_s(void);

#endif
