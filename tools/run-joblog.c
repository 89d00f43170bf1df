/* SPDX-License-Identifier: MIT */
/* procreact-run: the --joblog file in GNU parallel's format, and --resume reading it back. */
#define _GNU_SOURCE
#include "run-joblog.h"
#include "run-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct Joblog {
    int fd;
    unsigned char *done; /* a bit per job number found in the log */
    size_t done_bits;
};

static const char header[] = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

static void mark(Joblog *j, size_t seq)
{
    if (seq >= j->done_bits) {
        size_t bits = j->done_bits ? j->done_bits : 1024;
        while (bits <= seq)
            bits *= 2;
        j->done = xrealloc(j->done, bits / 8);
        memset(j->done + j->done_bits / 8, 0, (bits - j->done_bits) / 8);
        j->done_bits = bits;
    }
    j->done[seq / 8] |= (unsigned char)(1u << (seq % 8));
}

/* The job numbers of an existing log. */
static void read_done(Joblog *j, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        char *end;
        errno = 0;
        unsigned long long seq = strtoull(line, &end, 10);
        if (errno == 0 && end != line && *end == '\t' && seq > 0 && seq < (1ull << 40))
            mark(j, (size_t)seq);
    }
    free(line);
}

Joblog *joblog_open(const char *path, int resume)
{
    Joblog *j = xcalloc(1, sizeof *j);
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (resume ? 0 : O_TRUNC);
    j->fd = open(path, flags, 0666);
    if (j->fd < 0) {
        fprintf(stderr, "procreact-run: --joblog: cannot open '%s': %s\n", path, strerror(errno));
        exit(EXIT_USAGE);
    }
    off_t size = lseek(j->fd, 0, SEEK_END);
    if (resume && size > 0) {
        FILE *f = fopen(path, "re");
        if (f != NULL) {
            read_done(j, f);
            fclose(f);
        }
    }
    if (size <= 0 && write(j->fd, header, sizeof header - 1) < 0)
        fprintf(stderr, "procreact-run: --joblog: %s\n", strerror(errno));
    return j;
}

void joblog_close(Joblog *j)
{
    if (j == NULL)
        return;
    close(j->fd);
    free(j->done);
    free(j);
}

int joblog_has(const Joblog *j, size_t seq)
{
    return j != NULL && seq < j->done_bits && (j->done[seq / 8] & (1u << (seq % 8))) != 0;
}

void joblog_add(Joblog *j, size_t seq, double start, double runtime, unsigned long long received, int exitval,
                int signal, const char *command)
{
    Buf b = {0};
    buf_printf(&b, "%zu\t:\t%.3f\t%10.3f\t0\t%llu\t%d\t%d\t", seq, start, runtime, received, exitval, signal);
    /* One line per job: a newline in the command would start another. */
    for (const char *p = command; *p; p++)
        buf_add(&b, *p == '\n' ? " " : p, 1);
    buf_add(&b, "\n", 1);
    if (write(j->fd, b.data, b.len) < 0)
        fprintf(stderr, "procreact-run: --joblog: %s\n", strerror(errno));
    buf_free(&b);
}
