/* SPDX-License-Identifier: MIT */
/* procreact-run: the items: read from a descriptor without blocking, from ::: lists, and their combinations. */
#define _GNU_SOURCE
#include "run-input.h"
#include "run-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Items of a descriptor, split at newlines (or NULs with -0). */
typedef struct {
    int fd;
    int own_fd;
    const char *name;
    char sep;
    Buf buf;
    size_t start;       /* the first unread byte in buf */
    int eof;
    size_t line;        /* the number of items seen, for messages */
    size_t refused;
} Reader;

/* A source whose items are all known. */
typedef struct {
    char **items;
    size_t count;
} List;

struct Input {
    Reader first;        /* streamed, when the first source is a file or stdin */
    int first_is_list;
    List first_list;
    size_t first_at;
    List *rest;          /* the other sources, read whole */
    size_t nrest;
    size_t *odometer;    /* one index per other source */
    char *current;       /* the first source's item being combined */
    ArgSet pending;      /* items gathered for the next set (-n) */
    unsigned int max_args;
    const char *colsep;
    size_t produced;
    int ended;
};

static void list_add(List *l, char *item)
{
    l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
    l->items[l->count++] = item;
}

static void list_free(List *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
}

static void reader_open(Reader *r, const char *path, char sep)
{
    memset(r, 0, sizeof *r);
    r->sep = sep;
    if (path == NULL || strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
        r->name = "standard input";
        return;
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        fprintf(stderr, "procreact-run: cannot read '%s': %s\n", path, strerror(errno));
        exit(EXIT_USAGE);
    }
    r->own_fd = 1;
    r->name = path;
}

static void reader_read(Reader *r)
{
    if (r->eof)
        return;
    if (r->start > 0 && r->start >= r->buf.len / 2) {
        memmove(r->buf.data, r->buf.data + r->start, r->buf.len - r->start);
        r->buf.len -= r->start;
        r->start = 0;
    }
    buf_reserve(&r->buf, 64 * 1024);
    ssize_t n = read(r->fd, r->buf.data + r->buf.len, r->buf.cap - r->buf.len);
    if (n > 0)
        r->buf.len += (size_t)n;
    else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (n < 0)
            fprintf(stderr, "procreact-run: reading %s: %s\n", r->name, strerror(errno));
        r->eof = 1;
    }
}

/* The next item (malloc'ed): 1, 0 when more must be read, -1 at the end. */
static int reader_next(Reader *r, char **item)
{
    for (;;) {
        char *from = r->buf.data + r->start;
        size_t avail = r->buf.len - r->start;
        char *end = avail > 0 ? memchr(from, r->sep, avail) : NULL;
        size_t len;
        if (end != NULL) {
            len = (size_t)(end - from);
            r->start += len + 1;
        } else if (r->eof && avail > 0) {
            len = avail;
            r->start += len;
        } else {
            return r->eof ? -1 : 0;
        }
        r->line++;
        if (len == 0)
            continue; /* empty items are skipped */
        if (r->sep != '\0' && memchr(from, '\0', len) != NULL) {
            fprintf(stderr, "procreact-run: %s, line %zu: NUL byte in the line; it is not run "
                            "(use -0 for items that end with NUL)\n", r->name, r->line);
            r->refused++;
            continue;
        }
        *item = xmalloc(len + 1);
        memcpy(*item, from, len);
        (*item)[len] = '\0';
        return 1;
    }
}

static void reader_close(Reader *r)
{
    if (r->own_fd)
        close(r->fd);
    buf_free(&r->buf);
}

/* A source read whole, now (blocking). */
static void load(List *l, const Source *s, char sep, size_t *refused)
{
    memset(l, 0, sizeof *l);
    if (s->values != NULL || s->path == NULL) {
        for (size_t i = 0; i < s->count; i++)
            list_add(l, xstrdup(s->values[i]));
        return;
    }
    Reader r;
    reader_open(&r, s->path, sep);
    char *item;
    int got;
    while ((got = reader_next(&r, &item)) != -1) {
        if (got == 1)
            list_add(l, item);
        else
            reader_read(&r);
    }
    *refused += r.refused;
    reader_close(&r);
}

Input *input_open(const Options *o)
{
    Input *in = xcalloc(1, sizeof *in);
    char sep = o->delimiter;
    in->max_args = o->max_args;
    in->colsep = o->colsep;
    Source stdin_source = {NULL, 0, "-"};
    const Source *first = o->nsources > 0 ? &o->sources[0] : &stdin_source;
    size_t refused = 0;
    if (first->values != NULL) {
        in->first_is_list = 1;
        load(&in->first_list, first, sep, &refused);
    } else {
        reader_open(&in->first, first->path, sep);
    }
    if (o->nsources > 1) {
        in->nrest = o->nsources - 1;
        in->rest = xcalloc(in->nrest, sizeof *in->rest);
        in->odometer = xcalloc(in->nrest, sizeof *in->odometer);
        for (size_t i = 0; i < in->nrest; i++)
            load(&in->rest[i], &o->sources[i + 1], sep, &refused);
    }
    in->first.refused += refused;
    return in;
}

void input_close(Input *in)
{
    if (in == NULL)
        return;
    if (!in->first_is_list)
        reader_close(&in->first);
    list_free(&in->first_list);
    for (size_t i = 0; i < in->nrest; i++)
        list_free(&in->rest[i]);
    free(in->rest);
    free(in->odometer);
    free(in->current);
    argset_free(&in->pending);
    free(in);
}

static int next_first(Input *in, char **item)
{
    if (in->first_is_list) {
        if (in->first_at >= in->first_list.count)
            return -1;
        *item = xstrdup(in->first_list.items[in->first_at++]);
        return 1;
    }
    return reader_next(&in->first, item);
}

/* The combination of the current first item with the odometer's items. */
static int next_combination(Input *in, ArgSet *out)
{
    for (size_t i = 0; i < in->nrest; i++)
        if (in->rest[i].count == 0)
            return -1;
    if (in->current == NULL) {
        int got = next_first(in, &in->current);
        if (got != 1)
            return got;
    }
    out->count = in->nrest + 1;
    out->items = xcalloc(out->count, sizeof *out->items);
    out->items[0] = xstrdup(in->current);
    for (size_t i = 0; i < in->nrest; i++)
        out->items[i + 1] = xstrdup(in->rest[i].items[in->odometer[i]]);
    /* The last source turns fastest, as GNU parallel combines them. */
    size_t i = in->nrest;
    while (i > 0 && ++in->odometer[i - 1] == in->rest[i - 1].count)
        in->odometer[--i] = 0;
    if (i == 0) {
        free(in->current);
        in->current = NULL;
    }
    return 1;
}

int input_next_block(Input *in, size_t block, char **data, size_t *len)
{
    Reader *r = &in->first;
    if (in->first_is_list)
        return -1;
    char *from = r->buf.data + r->start;
    size_t avail = r->buf.len - r->start, cut = 0;
    if (avail >= block) {
        /* Whole records up to the block's size, as GNU parallel cuts them;
         * a record longer than that whole, up to its end. */
        char *end = memrchr(from, r->sep, block);
        if (end == NULL)
            end = memchr(from + block, r->sep, avail - block);
        if (end != NULL)
            cut = (size_t)(end - from) + 1;
    }
    if (cut == 0 && r->eof)
        cut = avail;
    if (cut == 0) {
        in->ended = r->eof;
        return r->eof ? -1 : 0;
    }
    *data = xmalloc(cut);
    memcpy(*data, from, cut);
    *len = cut;
    r->start += cut;
    in->produced++;
    return 1;
}

/* --colsep: every item becomes its columns, in order. */
static void split_columns(ArgSet *set, const char *sep)
{
    ArgSet cols = {NULL, 0};
    size_t seplen = strlen(sep);
    for (size_t i = 0; i < set->count; i++) {
        const char *p = set->items[i], *hit;
        for (;;) {
            hit = strstr(p, sep);
            size_t len = hit != NULL ? (size_t)(hit - p) : strlen(p);
            char *col = xmalloc(len + 1);
            memcpy(col, p, len);
            col[len] = '\0';
            cols.items = xrealloc(cols.items, (cols.count + 1) * sizeof *cols.items);
            cols.items[cols.count++] = col;
            if (hit == NULL)
                break;
            p = hit + seplen;
        }
    }
    argset_free(set);
    *set = cols;
}

int input_next(Input *in, ArgSet *out)
{
    memset(out, 0, sizeof *out);
    if (in->ended)
        return -1;
    int got;
    if (in->nrest > 0) {
        got = next_combination(in, out);
    } else {
        /* Up to max_args items; a short last set at the end. */
        ArgSet *p = &in->pending;
        got = 1;
        while (p->count < in->max_args) {
            char *item;
            got = next_first(in, &item);
            if (got != 1)
                break;
            p->items = xrealloc(p->items, (p->count + 1) * sizeof *p->items);
            p->items[p->count++] = item;
        }
        if (p->count == in->max_args || (got == -1 && p->count > 0)) {
            *out = *p;
            memset(p, 0, sizeof *p);
            got = 1;
        }
    }
    if (got == -1)
        in->ended = 1;
    if (got == 1) {
        in->produced++;
        if (in->colsep != NULL)
            split_columns(out, in->colsep);
    }
    return got;
}

int input_fd(const Input *in)
{
    return in->first_is_list ? -1 : in->first.fd;
}

void input_read(Input *in)
{
    if (!in->first_is_list)
        reader_read(&in->first);
}

size_t input_refused(const Input *in)
{
    return in->first.refused;
}

long input_total(const Input *in)
{
    if (!in->ended && !(in->first_is_list && in->nrest == 0 && in->max_args == 1))
        return -1;
    if (in->ended)
        return (long)in->produced;
    return (long)in->first_list.count;
}

void argset_free(ArgSet *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->items[i]);
    free(a->items);
    a->items = NULL;
    a->count = 0;
}
