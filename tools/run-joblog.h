/* SPDX-License-Identifier: MIT */
/* procreact-run: the --joblog file in GNU parallel's format, and --resume reading it back. */
#ifndef PROCREACT_RUN_JOBLOG_H
#define PROCREACT_RUN_JOBLOG_H

#include <stddef.h>

typedef struct Joblog Joblog;

/* Opens @p path (a new log, or with @p resume the log to go on from); ends
 * the process with a message when that fails. */
Joblog *joblog_open(const char *path, int resume);
void joblog_close(Joblog *j);
/* Whether job @p seq is in the log already (--resume). */
int joblog_has(const Joblog *j, size_t seq);
/* Adds a line: the job number, start (seconds since the epoch), run time,
 * bytes received on stdout, exit value, signal and command. */
void joblog_add(Joblog *j, size_t seq, double start, double runtime, unsigned long long received, int exitval,
                int signal, const char *command);

#endif
