/* SPDX-License-Identifier: MIT */
/* procreact-run: the progress line on a terminal, with --eta's estimate and --bar's bar. */
#define _GNU_SOURCE
#include "run-emit.h"
#include "run-output.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int g_enabled = -1;
static int g_shown;
static double g_last;

static int enabled(void)
{
    if (g_enabled < 0)
        g_enabled = isatty(STDERR_FILENO);
    return g_enabled;
}

void progress_clear(Run *r)
{
    (void)r;
    if (g_shown) {
        g_shown = 0;
        out_write(STDERR_FILENO, "\r\033[K", 4);
    }
}

void progress_draw(Run *r, int force)
{
    double now = monotonic_s();
    if (!enabled() || r->opt.dry_run || (!force && now - g_last < 0.1))
        return;
    g_last = now;
    double elapsed = now - r->start;
    long total = input_total(r->in);
    Buf b = {0};
    buf_printf(&b, "\r\033[Kprocreact-run: %zu done, %zu running, %zu failed, %.1f s, %.1f jobs/s", r->done,
               r->nrunning, r->failed, elapsed, elapsed > 0 ? (double)r->done / elapsed : 0.0);
    if (r->opt.eta && total >= 0 && r->done > 0) {
        double left = (double)((size_t)total > r->done ? (size_t)total - r->done : 0) * elapsed / (double)r->done;
        buf_printf(&b, ", ETA %.0f s", left);
    } else if (r->opt.eta) {
        buf_str(&b, ", ETA ?");
    }
    if (r->opt.bar && total > 0) {
        int width = 20, full = (int)((double)width * (double)r->done / (double)total);
        buf_str(&b, " [");
        for (int i = 0; i < width; i++)
            buf_add(&b, i < full ? "#" : " ", 1);
        buf_printf(&b, "] %3.0f%%", 100.0 * (double)r->done / (double)total);
    }
    out_write(STDERR_FILENO, b.data, b.len);
    buf_free(&b);
    g_shown = 1;
}

void progress_end(Run *r)
{
    if (!enabled() || r->opt.dry_run)
        return;
    progress_draw(r, 1);
    out_write(STDERR_FILENO, "\n", 1);
    g_shown = 0;
}
