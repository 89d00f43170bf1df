/* SPDX-License-Identifier: MIT */
/* bench-spawn: the five rows, each `count` spawns of /bin/true, waited for one at a time (see bench_spawn.c). */
#define _GNU_SOURCE
#include "bench_spawn_rows.h"

#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <spawn.h>

#include "bench.h"

extern char **environ;

const char kProgram[] = "/bin/true";

const char *const kRowName[ROW_COUNT] = {"ours, spawn (discard)", "ours, spawn (capture)", "ours, forked future",
                                         "hand, fork+execve", "hand, posix_spawn"};

/* ---- the rows: each runs `count` spawn-and-wait of /bin/true ----------- */

static void report_failure(Row row, long index, long count, const char *what)
{
    fprintf(stderr, "bench-spawn: %s: spawn %ld of a run of %ld failed: %s\n", kRowName[row], index + 1, count, what);
}

/* Waits for @p future (spawn @p index of @p count in @p row): 1 when it
 * ended well, else 0, said on stderr as @p why. */
static int got_ok(ProcReact_Future *future, Row row, long index, long count, const char *why)
{
    ProcReact_Status status;
    char *result = procreact_future_get(future, &status);
    const int ok = status == PROCREACT_STATUS_OK && result != NULL;
    free(result);
    if (!ok)
        report_failure(row, index, count, why);
    return ok;
}

static int run_ours_spawn(Row row, const ProcReact_Command *command, long count)
{
    for (long i = 0; i < count; ++i) {
        ProcReact_Future future = procreact_command_spawn(command, procreact_create_string_type());
        if (future.pid == -1) {
            report_failure(row, i, count, strerror(errno));
            procreact_destroy_future(&future);
            return -1;
        }
        if (!got_ok(&future, row, i, count, "the program did not exit with 0"))
            return -1;
    }
    return 0;
}

static int run_forked_future(long count)
{
    for (long i = 0; i < count; ++i) {
        ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
        if (future.pid == 0) {
            execl(kProgram, "true", (char *)NULL);
            _exit(127);
        }
        if (future.pid == -1) {
            report_failure(ROW_FORKED_FUTURE, i, count, strerror(errno));
            return -1;
        }
        if (!got_ok(&future, ROW_FORKED_FUTURE, i, count, "the child did not exit with 0 (exec failed?)"))
            return -1;
    }
    return 0;
}

static int run_hand_fork(const Programs *programs, long count)
{
    for (long i = 0; i < count; ++i) {
        const pid_t pid = fork();
        if (pid == 0) {
            execve(kProgram, programs->argv, environ);
            _exit(127);
        }
        if (pid < 0) {
            report_failure(ROW_HAND_FORK, i, count, strerror(errno));
            return -1;
        }
        if (!bench_wait_ok(pid)) {
            report_failure(ROW_HAND_FORK, i, count, "the child did not exit with 0 (exec failed?)");
            return -1;
        }
    }
    return 0;
}

static int run_hand_spawn(const Programs *programs, long count)
{
    for (long i = 0; i < count; ++i) {
        pid_t pid;
        const int r = posix_spawn(&pid, kProgram, NULL, NULL, programs->argv, environ);
        if (r != 0) {
            report_failure(ROW_HAND_SPAWN, i, count, strerror(r));
            return -1;
        }
        if (!bench_wait_ok(pid)) {
            report_failure(ROW_HAND_SPAWN, i, count, "the program did not exit with 0");
            return -1;
        }
    }
    return 0;
}

/* Runs one row; *seconds gets the wall time of the whole loop. */
int run_row(Row row, const Programs *programs, long count, double *seconds)
{
    int rc;
    fflush(stdout); /* nothing buffered for a forked child to inherit */
    fflush(stderr);
    const double t0 = bench_wall_now();
    switch (row) {
    case ROW_SPAWN_DISCARD:
        rc = run_ours_spawn(row, programs->discard, count);
        break;
    case ROW_SPAWN_CAPTURE:
        rc = run_ours_spawn(row, programs->capture, count);
        break;
    case ROW_FORKED_FUTURE:
        rc = run_forked_future(count);
        break;
    case ROW_HAND_FORK:
        rc = run_hand_fork(programs, count);
        break;
    default:
        rc = run_hand_spawn(programs, count);
        break;
    }
    *seconds = bench_wall_now() - t0;
    return rc;
}
