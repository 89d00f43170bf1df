/* SPDX-License-Identifier: MIT */
/* procreact-run: the items: read from a descriptor without blocking, from ::: lists, and their combinations. */
#ifndef PROCREACT_RUN_INPUT_H
#define PROCREACT_RUN_INPUT_H

#include <stddef.h>

#include "run-options.h"

typedef struct Input Input;

/* An argument set: the items of one job (malloc'ed, each and the array). */
typedef struct {
    char **items;
    size_t count;
} ArgSet;

void argset_free(ArgSet *a);

/* Opens the sources of @p o (standard input when there is none). Every
 * source but the first is read whole now; the first is read as jobs start.
 * Ends the process with a message when a file cannot be read. */
Input *input_open(const Options *o);
void input_close(Input *in);
/* The next argument set: 1 when one is ready, 0 when more input must be
 * read first (wait for input_fd() to be readable, then input_read()), -1
 * at the end of the items. Never blocks. */
int input_next(Input *in, ArgSet *out);
/* --pipe: the next block of the first source, the whole records in its
 * next @p block bytes (a longer record whole), in *data (malloc'ed).
 * Returns as input_next(). */
int input_next_block(Input *in, size_t block, char **data, size_t *len);
/* The descriptor to wait on after input_next() returned 0. */
int input_fd(const Input *in);
/* Reads what the descriptor has (one read; it was reported readable). */
void input_read(Input *in);
/* The number of lines refused (NUL bytes in a line). */
size_t input_refused(const Input *in);
/* The number of argument sets in all, once known (-1 until then). */
long input_total(const Input *in);

#endif
