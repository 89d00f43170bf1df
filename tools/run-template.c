/* SPDX-License-Identifier: MIT */
/* procreact-run: a job's command from the program template, its items and the replacement strings. */
#define _GNU_SOURCE
#include "run-template.h"
#include "run-util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MOD_NONE, MOD_EXT, MOD_BASE, MOD_DIR, MOD_BASE_EXT };

/* A replacement string at a position: what it stands for and its length. */
typedef struct {
    size_t len;      /* 0: no replacement string here */
    int kind;        /* 'a': items (all or one), '#': job number, '%': slot */
    size_t position; /* 0: every item; N: the Nth */
    int mod;
} Token;

static Token token_at(const Template *t, const char *p)
{
    Token tok = {0, 'a', 0, MOD_NONE};
    size_t rlen = strlen(t->replace);
    if (strncmp(p, t->replace, rlen) == 0) {
        tok.len = rlen;
        return tok;
    }
    if (*p != '{')
        return tok;
    const char *q = p + 1;
    if ((*q == '#' || *q == '%') && q[1] == '}') {
        tok.kind = *q;
        tok.len = 3;
        return tok;
    }
    while (isdigit((unsigned char)*q))
        tok.position = tok.position * 10 + (size_t)(*q++ - '0');
    if (q > p + 1 && tok.position == 0)
        return tok; /* {0} is not a replacement string */
    static const struct { const char *text; int mod; } mods[] = {
        {"}", MOD_NONE}, {".}", MOD_EXT}, {"/}", MOD_BASE}, {"//}", MOD_DIR}, {"/.}", MOD_BASE_EXT},
    };
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
        size_t n = strlen(mods[i].text);
        if (strncmp(q, mods[i].text, n) == 0) {
            /* {} itself is only the replacement string when -I does not change it. */
            if (q == p + 1 && mods[i].mod == MOD_NONE && strcmp(t->replace, "{}") != 0)
                return tok;
            tok.mod = mods[i].mod;
            tok.len = (size_t)(q - p) + n;
            return tok;
        }
    }
    return tok;
}

void template_init(Template *t, const Options *o)
{
    memset(t, 0, sizeof *t);
    t->program = o->program;
    t->argc = o->program_argc;
    t->replace = o->replace != NULL ? o->replace : "{}";
    t->shell_line = t->argc == 1 && strpbrk(t->program[0], " \t\n") != NULL;
    for (int i = 0; i < t->argc; i++)
        for (const char *p = t->program[i]; *p; p++)
            if (token_at(t, p).len > 0)
                t->substitutes = 1;
}

/* @p item changed by @p mod, into @p b. */
static void add_modified(Buf *b, const char *item, int mod)
{
    const char *slash = strrchr(item, '/');
    const char *base = slash != NULL ? slash + 1 : item;
    const char *dot = strrchr(base, '.');
    const char *end = item + strlen(item);
    if (dot != NULL && dot[1] == '\0')
        dot = NULL;
    switch (mod) {
    case MOD_NONE: buf_str(b, item); break;
    case MOD_EXT: buf_add(b, item, (size_t)((dot != NULL ? dot : end) - item)); break;
    case MOD_BASE: buf_str(b, base); break;
    case MOD_BASE_EXT: buf_add(b, base, (size_t)((dot != NULL ? dot : end) - base)); break;
    case MOD_DIR:
        if (slash == NULL)
            buf_str(b, ".");
        else
            buf_add(b, item, slash == item ? 1 : (size_t)(slash - item));
        break;
    default: break;
    }
}

/* The value of @p tok, quoted for the shell when @p quote. */
static void add_value(Buf *b, Token tok, const ArgSet *items, size_t seq, unsigned int slot, int quote)
{
    Buf v = {0};
    if (tok.kind == '#')
        buf_printf(&v, "%zu", seq);
    else if (tok.kind == '%')
        buf_printf(&v, "%u", slot);
    for (size_t i = 0; tok.kind == 'a' && i < items->count; i++) {
        if (tok.position != 0 && i + 1 != tok.position)
            continue;
        Buf one = {0};
        add_modified(&one, items->items[i], tok.mod);
        char *text = buf_take(&one);
        if (v.len > 0)
            buf_add(&v, " ", 1);
        if (quote) {
            char *q = shell_quote(text);
            buf_str(&v, q);
            free(q);
        } else {
            buf_str(&v, text);
        }
        free(text);
    }
    buf_add(b, v.data, v.len);
    buf_free(&v);
}

static char *expand(const Template *t, const char *arg, const ArgSet *items, size_t seq, unsigned int slot, int quote)
{
    Buf b = {0};
    for (const char *p = arg; *p;) {
        Token tok = token_at(t, p);
        if (tok.len == 0) {
            buf_add(&b, p++, 1);
            continue;
        }
        add_value(&b, tok, items, seq, slot, quote);
        p += tok.len;
    }
    return buf_take(&b);
}

static void push(char ***argv, size_t *n, char *arg)
{
    *argv = xrealloc(*argv, (*n + 2) * sizeof **argv);
    (*argv)[(*n)++] = arg;
    (*argv)[*n] = NULL;
}

static char **shell_argv(char *command)
{
    char **argv = xcalloc(4, sizeof *argv);
    argv[0] = xstrdup("/bin/sh");
    argv[1] = xstrdup("-c");
    argv[2] = command;
    return argv;
}

char **template_argv(const Template *t, const ArgSet *items, size_t seq, unsigned int slot, char **display)
{
    if (t->program == NULL || t->shell_line) {
        Buf b = {0};
        if (t->program == NULL) {
            for (size_t i = 0; i < items->count; i++) {
                if (i > 0)
                    buf_add(&b, " ", 1);
                buf_str(&b, items->items[i]);
            }
        } else {
            char *line = expand(t, t->program[0], items, seq, slot, 1);
            buf_str(&b, line);
            free(line);
            for (size_t i = 0; !t->substitutes && i < items->count; i++) {
                char *q = shell_quote(items->items[i]);
                buf_add(&b, " ", 1);
                buf_str(&b, q);
                free(q);
            }
        }
        char *command = buf_take(&b);
        *display = xstrdup(command);
        return shell_argv(command);
    }
    char **argv = NULL;
    size_t n = 0;
    for (int i = 0; i < t->argc; i++) {
        const char *arg = t->program[i];
        Token tok = token_at(t, arg);
        int whole = tok.len > 0 && tok.len == strlen(arg) && tok.kind == 'a';
        if (whole && tok.position > items->count)
            continue; /* {N} past the items: no argument, as the shell drops an empty word */
        if (whole && tok.position == 0) {
            /* The whole argument is every item: one argument each. */
            for (size_t k = 0; k < items->count; k++) {
                Buf one = {0};
                add_modified(&one, items->items[k], tok.mod);
                push(&argv, &n, buf_take(&one));
            }
            continue;
        }
        push(&argv, &n, expand(t, arg, items, seq, slot, 0));
    }
    for (size_t k = 0; !t->substitutes && k < items->count; k++)
        push(&argv, &n, xstrdup(items->items[k]));
    Buf shown = {0};
    for (size_t k = 0; k < n; k++) {
        char *q = shell_quote(argv[k]);
        if (k > 0)
            buf_add(&shown, " ", 1);
        buf_str(&shown, q);
        free(q);
    }
    *display = buf_take(&shown);
    return argv;
}

void template_free_argv(char **argv)
{
    if (argv == NULL)
        return;
    for (size_t i = 0; argv[i] != NULL; i++)
        free(argv[i]);
    free(argv);
}

char *template_expand(const Template *t, const char *text, const ArgSet *items, size_t seq, unsigned int slot)
{
    return expand(t, text, items, seq, slot, 0);
}
