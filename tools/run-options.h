/* SPDX-License-Identifier: MIT */
/* procreact-run: the command line: options, the program template and the ::: argument lists. */
#ifndef PROCREACT_RUN_OPTIONS_H
#define PROCREACT_RUN_OPTIONS_H

#include <stddef.h>

enum { HALT_NEVER, HALT_SOON, HALT_NOW };

/* An input source: a fixed list (:::), or a file or stdin read as it goes. */
typedef struct {
    char **values;     /* ::: values (borrowed from argv), or NULL */
    size_t count;
    const char *path;  /* a file (-a, ::::), "-" for standard input */
} Source;

typedef struct {
    unsigned int jobs;  /* 0: as many as the descriptor limit allows */
    int jobs_given;
    double timeout;     /* <= 0: none */
    double kill_after;
    int keep_order;
    int halt_when;      /* HALT_NEVER, HALT_SOON, HALT_NOW */
    int halt_on_success;/* count successes instead of failures */
    double halt_count;  /* the number (or percentage) that halts */
    int halt_percent;
    int json;
    char delimiter;     /* what ends an item: newline, NUL with -0, -d's */
    const char *colsep; /* --colsep: split each item into columns (NULL: no) */
    int verbose;        /* -t: each command on stderr as it starts */
    double delay;       /* --delay: seconds between job starts */
    const char *replace;/* -I STR: instead of {} */
    unsigned int max_args; /* -n, -N */
    int no_items;       /* -N 0: each job takes an item and inserts none */
    int pipe;           /* --pipe: blocks of the input to the jobs' stdin */
    size_t block;       /* --block: their size */
    int tag;
    const char *tagstring; /* --tagstring: the tag, with replacement strings */
    int dry_run;
    const char *joblog;
    int resume;
    unsigned int retries; /* total tries per job (parallel's meaning): 0 and 1 are one try */
    int line_buffer;
    int ungroup;
    int eta;
    int bar;
    char **program;     /* NULL: each item is a shell command */
    int program_argc;
    Source *sources;
    size_t nsources;
} Options;

/* Parses the command line; ends the process for --help, --version and bad usage. */
void options_parse(Options *o, int argc, char **argv);
void options_free(Options *o);
/* Reports a usage error and ends the process (status 2). */
void usage_error(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
