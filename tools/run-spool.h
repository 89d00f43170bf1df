/* SPDX-License-Identifier: MIT */
/* procreact-run: a job's captured stream, in memory up to a bound, then in an unlinked temporary file. */
#ifndef PROCREACT_RUN_SPOOL_H
#define PROCREACT_RUN_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

/* The bytes of one stream. The first bytes stay in memory while this spool
 * holds at most SPOOL_MEMORY_EACH and all spools together at most
 * SPOOL_MEMORY_TOTAL; past that, everything moves to a temporary file that
 * was unlinked at creation (O_TMPFILE in $TMPDIR, else mkstemp + unlink), so
 * nothing is left on disk whatever happens to the process. */
typedef struct {
    char *mem;
    size_t len, cap;
    int fd;          /* the temporary file, -1 while in memory */
    off_t file_len;
    int error;       /* errno of a failed write to the file: bytes were lost */
} Spool;

#define SPOOL_MEMORY_EACH (256u * 1024u)
#define SPOOL_MEMORY_TOTAL (16u * 1024u * 1024u)

void spool_init(Spool *s);
void spool_free(Spool *s);
/* Adds @p len bytes. */
void spool_add(Spool *s, const void *data, size_t len);
/* Moves what @p fd has ready into the spool with one read (or splice once
 * spilled). Returns the bytes moved, 0 at end of stream, -1 with errno. */
ssize_t spool_read_from(Spool *s, int fd);
/* The number of bytes held. */
unsigned long long spool_size(const Spool *s);
/* Calls @p fn on the bytes in order, in pieces of at most 64 KiB; stops
 * when @p fn returns non-zero and returns that value. */
int spool_each(const Spool *s, int (*fn)(void *ctx, const char *data, size_t len), void *ctx);

#endif
