/* SPDX-License-Identifier: MIT */
/* procreact-run: printing a finished job (grouped, tagged, JSON), in order with -k, or line by line. */
#define _GNU_SOURCE
#include "run-emit.h"
#include "run-output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LONG_LINE (64u * 1024u)

/* Writes the complete lines of @p b (all of it with @p all), each after @p tag. */
static void write_lines(int fd, Buf *b, const char *tag, int all)
{
    size_t done = 0;
    Buf o = {0};
    while (done < b->len) {
        char *nl = memchr(b->data + done, '\n', b->len - done);
        size_t n = nl != NULL ? (size_t)(nl - (b->data + done)) + 1 : b->len - done;
        if (nl == NULL && !all && n < LONG_LINE)
            break;
        if (tag != NULL)
            buf_str(&o, tag);
        buf_add(&o, b->data + done, n);
        done += n;
    }
    out_write(fd, o.data, o.len);
    buf_free(&o);
    memmove(b->data, b->data + done, b->len - done);
    b->len -= done;
}

ssize_t emit_line_buffered(Run *r, Job *job, int out_fd, int in_fd)
{
    Buf *b = out_fd == STDOUT_FILENO ? &job->line_out : &job->line_err;
    char chunk[LONG_LINE];
    ssize_t n;
    do
        n = read(in_fd, chunk, sizeof chunk);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        buf_add(b, chunk, (size_t)n);
        if (out_fd == STDOUT_FILENO)
            job->line_received += (unsigned long long)n;
    }
    if (n >= 0) {
        progress_clear(r);
        write_lines(out_fd, b, job->tag, n == 0);
    }
    return n;
}

static void message(const char *format, const char *command, const char *detail)
{
    Buf b = {0};
    buf_printf(&b, format, command, detail);
    out_write(STDERR_FILENO, b.data, b.len);
    buf_free(&b);
}

static void emit_json(Job *job)
{
    Buf b = {0};
    buf_printf(&b, "{\"index\":%zu,\"command\":", job->seq - 1);
    json_string(&b, job->command, strlen(job->command));
    if (job->exited)
        buf_printf(&b, ",\"exit_code\":%d", job->exit_code);
    else
        buf_str(&b, ",\"exit_code\":null");
    if (job->signal != 0)
        buf_printf(&b, ",\"signal\":%d", job->signal);
    else
        buf_str(&b, ",\"signal\":null");
    buf_printf(&b, ",\"timed_out\":%s,\"exec_errno\":%d,\"wall_ms\":%.3f,\"cpu_ms\":%.3f,\"max_rss_kib\":%ld",
               job->timed_out ? "true" : "false", job->exec_errno, job->wall_s * 1e3, job->cpu_s * 1e3,
               job->max_rss_kib);
    buf_str(&b, ",\"stdout\":");
    out_json_spool(STDOUT_FILENO, &b, &job->out);
    buf_str(&b, ",\"stderr\":");
    out_json_spool(STDOUT_FILENO, &b, &job->err);
    buf_str(&b, "}\n");
    out_write(STDOUT_FILENO, b.data, b.len);
    buf_free(&b);
}

static void emit(Run *r, Job *job)
{
    progress_clear(r);
    if (r->opt.json) {
        emit_json(job);
    } else {
        if (job->tag != NULL) {
            out_spool_tagged(STDOUT_FILENO, &job->out, job->tag);
            out_spool_tagged(STDERR_FILENO, &job->err, job->tag);
        } else {
            out_spool(STDOUT_FILENO, &job->out);
            out_spool(STDERR_FILENO, &job->err);
        }
        write_lines(STDOUT_FILENO, &job->line_out, job->tag, 1);
        write_lines(STDERR_FILENO, &job->line_err, job->tag, 1);
        if (job->out.error != 0 || job->err.error != 0)
            message("procreact-run: output of '%s' lost: %s\n", job->command,
                    strerror(job->out.error != 0 ? job->out.error : job->err.error));
        if (job->exec_errno != 0)
            message("procreact-run: cannot run '%s': %s\n", job->command, strerror(job->exec_errno));
        else if (job->timed_out)
            message("procreact-run: timed out: %s%s\n", job->command, "");
    }
    if (job->out.error != 0 || job->err.error != 0)
        r->failed += !job->failed; /* lost output fails the run */
    job_free(job);
}

static size_t spool_files(const Job *job)
{
    return (job->out.fd >= 0) + (job->err.fd >= 0);
}

void emit_finished(Run *r, Job *job)
{
    if (!r->opt.keep_order) {
        emit(r, job);
        return;
    }
    if (job->order - r->next_to_print >= r->finished_cap) {
        /* Grow the ring (a power of two) and put the waiting jobs back in place. */
        size_t cap = r->finished_cap ? r->finished_cap : 64;
        while (job->order - r->next_to_print >= cap)
            cap *= 2;
        Job **ring = xcalloc(cap, sizeof *ring);
        for (size_t i = 0; i < r->finished_cap; i++)
            if (r->finished[i] != NULL)
                ring[r->finished[i]->order & (cap - 1)] = r->finished[i];
        free(r->finished);
        r->finished = ring;
        r->finished_cap = cap;
    }
    r->finished[job->order & (r->finished_cap - 1)] = job;
    r->held_fds += spool_files(job);
    for (;;) {
        Job **at = &r->finished[r->next_to_print & (r->finished_cap - 1)];
        if (*at == NULL || (*at)->order != r->next_to_print)
            break;
        Job *next = *at;
        *at = NULL;
        r->next_to_print++;
        r->held_fds -= spool_files(next);
        emit(r, next);
    }
}

void emit_free(Run *r)
{
    for (size_t i = 0; i < r->finished_cap; i++)
        if (r->finished[i] != NULL)
            job_free(r->finished[i]);
    free(r->finished);
    r->finished = NULL;
    r->finished_cap = 0;
}

void emit_drain(Run *r)
{
    /* Jobs whose turn never came (the run stopped before the ones ahead ended). */
    for (size_t n = 0; n < r->finished_cap; n++) {
        Job **at = &r->finished[r->next_to_print++ & (r->finished_cap - 1)];
        if (*at != NULL) {
            Job *job = *at;
            *at = NULL;
            r->held_fds -= spool_files(job);
            emit(r, job);
        }
    }
}
