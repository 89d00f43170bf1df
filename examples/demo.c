/* SPDX-License-Identifier: MIT */
/*
 * procreact-demo: the library's main job in five steps, one file each.
 *
 *  1. A future (demo_future.c): a child computes something and writes
 *     "Hello <name>! ..." to its pipe; the parent gets it back as a string.
 *  2. A collection of children with a limit (demo_batch.c): 12 tasks, at
 *     most 4 at a time, each sleeping a random 100-400 ms and returning a
 *     string. A progress line (done/running/total) is redrawn in place on a
 *     terminal and printed as plain lines otherwise (CI logs, pipes).
 *  3. A child that execs a program (demo_exec.c): its stdout is dup2()'ed
 *     onto the future's pipe, and the output comes back as an array of
 *     lines via the string-array type.
 *  4. The main-loop step (demo_main_loop.c): a pid iterator,
 *     procreact_register_signal_handler() and
 *     procreact_complete_all_finished_processes() called from a loop that
 *     also does other work (it prints ticks) until every child is complete.
 *  5. Programs spawned in parallel (demo_spawn.c), no fork of the demo:
 *     four sh -c scripts and a program that does not exist, run as
 *     commands through a future iterator, at most 3 at a time; each is
 *     printed with its exit details (exit code or signal, times, peak
 *     memory, captured stdout and stderr).
 *
 * This file has main(), which runs the steps in turn, and the small helpers
 * they share (declared in demo.h).
 *
 * Usage: procreact-demo [name]
 * Exits 0 when every step succeeded, 1 otherwise. Runs in a few seconds.
 * Children always end with _exit(), never exit(): they must not run the
 * parent's atexit handlers or flush its stdio buffers a second time.
 */
#define _POSIX_C_SOURCE 200809L
#include "demo.h"

#include <procreact_types.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------ */

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ; /* interrupted (SIGCHLD): sleep for the rest */
}

/* Writes all of buf to fd; returns 0 on success. For use in children. */
int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        const ssize_t n = write(fd, buf, len);
        if (n < 0)
            return -1; /* EINTR cannot happen here: the child installs no handler */
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

const char *status_name(ProcReact_Status status)
{
    switch (status) {
    case PROCREACT_STATUS_OK:
        return "ok";
    case PROCREACT_STATUS_FORK_FAIL:
        return "fork failed";
    case PROCREACT_STATUS_WAIT_FAIL:
        return "wait failed";
    case PROCREACT_STATUS_ABNORMAL_TERMINATION:
        return "abnormal termination";
    default:
        return "other failure";
    }
}

/* A tiny PRNG (xorshift32) so that the parent picks the sleep times. */
static unsigned int g_rng;

unsigned int next_random(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "procreact";
    g_rng = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16) ^ 0x9e3779b9u;
    if (g_rng == 0)
        g_rng = 1;

    static const struct {
        const char *title;
        int which;
    } steps[] = {
        {"1. a future returning a string", 1},
        {"2. 12 children, at most 4 at a time", 2},
        {"3. a child that execs a program, output as lines", 3},
        {"4. the main-loop step with a pid iterator", 4},
        {"5. programs spawned in parallel, with exit details", 5},
    };
    int failures = 0;
    const double t0 = now_seconds();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; ++i) {
        printf("%s\n", steps[i].title);
        const double ts = now_seconds();
        int rc = 1;
        switch (steps[i].which) {
        case 1:
            rc = step_future(name);
            break;
        case 2:
            rc = step_batch();
            break;
        case 3:
            rc = step_exec();
            break;
        case 4:
            rc = step_main_loop();
            break;
        case 5:
            rc = step_spawn();
            break;
        }
        printf("  -> %s (%.0f ms)\n\n", rc == 0 ? "OK" : "FAILED", (now_seconds() - ts) * 1e3);
        failures += rc != 0;
    }
    printf("procreact-demo: %d of %zu steps failed, %.2f s in total\n", failures, sizeof steps / sizeof steps[0],
           now_seconds() - t0);
    return failures == 0 ? 0 : 1;
}
