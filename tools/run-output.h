/* SPDX-License-Identifier: MIT */
/* procreact-run: writing results out: whole spools, tagged lines, JSON strings; a reader that left. */
#ifndef PROCREACT_RUN_OUTPUT_H
#define PROCREACT_RUN_OUTPUT_H

#include <signal.h>
#include <stddef.h>

#include "run-spool.h"
#include "run-util.h"

/* Set from the signal handler: a write that is interrupted gives up. */
extern volatile sig_atomic_t g_stop_signal;

/* What went wrong writing our own output; the first failure is kept. */
typedef struct {
    int broken;   /* a write found no reader (EPIPE): the run stops quietly */
    int error;    /* another write error (errno), reported once */
    int gave_up;  /* a signal interrupted a blocked write */
} OutputState;

extern OutputState g_output;

/* Writes all of @p len bytes to @p fd; 0, or -1 once output failed (then
 * nothing more is written to that run's output). */
int out_write(int fd, const void *data, size_t len);
/* Writes a spool whole, straight from its file with sendfile() when spilled. */
int out_spool(int fd, const Spool *s);
/* Writes a spool with @p tag before each line (a last line without newline gets one). */
int out_spool_tagged(int fd, const Spool *s, const char *tag);

/* A JSON string built from bytes fed in pieces: valid UTF-8 passes through
 * (also split between pieces), '"', '\\' and control characters are
 * escaped, and each byte that is not part of valid UTF-8 becomes U+FFFD. */
typedef struct {
    Buf *out;
    unsigned char carry[4];
    size_t ncarry;
} JsonString;

void json_string(Buf *out, const char *data, size_t len);
void json_begin(JsonString *j, Buf *out);
void json_feed(JsonString *j, const char *data, size_t len);
void json_end(JsonString *j);
/* Writes @p s as a JSON string to @p fd through @p b, flushing as it grows. */
int out_json_spool(int fd, Buf *b, const Spool *s);

#endif
