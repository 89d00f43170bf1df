/* SPDX-License-Identifier: MIT */
/* procreact-run: a job's command from the program template, its items and the replacement strings. */
#ifndef PROCREACT_RUN_TEMPLATE_H
#define PROCREACT_RUN_TEMPLATE_H

#include <stddef.h>

#include "run-input.h"
#include "run-options.h"

typedef struct {
    char **program;      /* NULL: the items are a shell command */
    int argc;
    int shell_line;      /* PROGRAM is one word with blanks: a shell command line */
    const char *replace; /* the string for all items: {} or -I STR */
    int substitutes;     /* some argument holds a replacement string */
} Template;

void template_init(Template *t, const Options *o);
/* The argv of job @p seq (1-based) in slot @p slot for @p items (malloc'ed,
 * NULL-terminated; free with template_free_argv()); *display gets the
 * command as a shell would read it (malloc'ed). */
char **template_argv(const Template *t, const ArgSet *items, size_t seq, unsigned int slot, char **display);
void template_free_argv(char **argv);
/* @p text with its replacement strings replaced, without quoting (malloc'ed). */
char *template_expand(const Template *t, const char *text, const ArgSet *items, size_t seq, unsigned int slot);

#endif
