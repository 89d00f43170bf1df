/* SPDX-License-Identifier: MIT */
/* bench-spawn-many: the four kinds, ours (capture, discard), hand and GLib, with the failures they record. */
#define _GNU_SOURCE
#include "bench_spawn_many_kinds.h"

#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <glib.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "bench.h"

extern char **environ;

const char kProgram[] = "/bin/true";

Failures g_failures = {PTHREAD_MUTEX_INITIALIZER, 0, ""};

static void record_failure(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void record_failure(const char *format, ...)
{
    pthread_mutex_lock(&g_failures.lock);
    if (g_failures.failures++ == 0) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(g_failures.first, sizeof g_failures.first, format, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&g_failures.lock);
}

/* Describes a wait status that is not a clean exit with 0. */
static void describe_wait_status(int wstatus, char *out, size_t size)
{
    if (WIFEXITED(wstatus))
        snprintf(out, size, "exited with %d", WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        snprintf(out, size, "killed by signal %d", WTERMSIG(wstatus));
    else
        snprintf(out, size, "wait status 0x%x", (unsigned)wstatus);
}

/* ---- ours: a future iterator over spawned commands -------------------- */

typedef struct {
    const ProcReact_Command *command;
    long count;
    long started;
    long ok;
} OursRun;

static ProcReact_bool ours_has_next(void *data)
{
    const OursRun *run = data;
    return run->started < run->count;
}

static ProcReact_Future ours_next(void *data)
{
    OursRun *run = data;
    ++run->started;
    return procreact_command_spawn(run->command, procreact_create_string_type());
}

static void ours_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    OursRun *run = data;
    if (status == PROCREACT_STATUS_OK && future->result != NULL) {
        ++run->ok;
    } else {
        /* Only on failure: what the library knows about how it ended. */
        ProcReact_ExitInfo info;
        if (procreact_future_info(future, &info) != 0) {
            record_failure("status %d, no exit details", (int)status);
            info.stderr_data = NULL;
        } else if (info.exec_errno != 0)
            record_failure("could not start %s: %s", kProgram, strerror(info.exec_errno));
        else if (info.signal != 0)
            record_failure("killed by signal %d", info.signal);
        else if (status == PROCREACT_STATUS_FORK_FAIL)
            record_failure("could not spawn (out of processes or descriptors?)");
        else
            record_failure("exited with %d (status %d)", info.exit_code, (int)status);
        free(info.stderr_data); /* NULL: standard error is not captured here */
    }
    free(future->result);
    future->result = NULL;
}

static int run_ours(const Job *job)
{
    OursRun run = {job->kind == KIND_CAPTURE ? job->capture : job->discard, job->count, 0, 0};
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(ours_has_next, ours_next, ours_complete, &run);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, job->limit);
    procreact_destroy_future_iterator(&it);
    return run.ok == job->count ? 0 : -1;
}

/* ---- hand: posix_spawn() and waitpid(-1), `limit` in flight ----------- */

static int run_hand(const Job *job)
{
    char *argv[] = {"true", NULL};
    long started = 0, running = 0, ok = 0;
    int spawn_error = 0;
    while (running > 0 || (started < job->count && spawn_error == 0)) {
        while (running < (long)job->limit && started < job->count && spawn_error == 0) {
            pid_t pid;
            const int r = posix_spawn(&pid, kProgram, NULL, NULL, argv, environ);
            if (r != 0) {
                spawn_error = r;
                record_failure("posix_spawn: %s", strerror(r));
                break;
            }
            ++started;
            ++running;
        }
        if (running == 0)
            break;
        int wstatus;
        const pid_t pid = waitpid(-1, &wstatus, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            record_failure("waitpid: %s", strerror(errno));
            return -1; /* ECHILD: nothing left to wait for */
        }
        --running;
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
            ++ok;
        } else {
            char what[64];
            describe_wait_status(wstatus, what, sizeof what);
            record_failure("%s %s", kProgram, what);
        }
    }
    return ok == job->count ? 0 : -1;
}

/* ---- GLib: `limit` threads, each g_spawn_sync() in a loop ------------- */

typedef struct {
    atomic_long next; /* the next program to run, shared by the threads */
    long count;
    atomic_long ok;
} GlibRun;

static void *glib_worker(void *data)
{
    GlibRun *run = data;
    gchar *argv[] = {(gchar *)kProgram, NULL};
    while (atomic_fetch_add(&run->next, 1) < run->count) {
        GError *error = NULL;
        gint wstatus = 0;
        const gboolean spawned = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                              NULL, NULL, NULL, NULL, &wstatus, &error);
        if (!spawned) {
            record_failure("g_spawn_sync: %s", error != NULL ? error->message : "failed");
            g_clear_error(&error);
        } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
            atomic_fetch_add(&run->ok, 1);
        } else {
            char what[64];
            describe_wait_status(wstatus, what, sizeof what);
            record_failure("%s %s", kProgram, what);
        }
    }
    return NULL;
}

static int run_glib(const Job *job)
{
    GlibRun run;
    atomic_init(&run.next, 0);
    atomic_init(&run.ok, 0);
    run.count = job->count;
    pthread_t threads[kMaxLimit];
    unsigned started = 0;
    for (; started < job->limit; ++started) {
        const int r = pthread_create(&threads[started], NULL, glib_worker, &run);
        if (r != 0) {
            record_failure("pthread_create: %s", strerror(r));
            atomic_store(&run.next, run.count); /* the running ones stop after their program */
            break;
        }
    }
    for (unsigned i = 0; i < started; ++i)
        pthread_join(threads[i], NULL);
    return started == job->limit && atomic_load(&run.ok) == job->count ? 0 : -1;
}

/* ---- one round of a kind ---------------------------------------------- */

int run_job(void *data)
{
    const Job *job = data;
    switch (job->kind) {
    case KIND_CAPTURE:
    case KIND_DISCARD:
        return run_ours(job);
    case KIND_HAND:
        return run_hand(job);
    default:
        return run_glib(job);
    }
}
