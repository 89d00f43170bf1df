/* SPDX-License-Identifier: MIT */
/*
 * spawn-loop: the hand-written limit for running N programs J at a time:
 * posix_spawn() and waitpid(), nothing else. Reads nothing; runs PROGRAM
 * (default /bin/true) N times with at most J in flight.
 *
 * With --number, job k (1..N) runs as `PROGRAM k`: the same command lines
 * as `seq N | xargs -n 1 PROGRAM` and `seq N | procreact-run -- PROGRAM`.
 * That matters for a fair baseline: coreutils' `true` with an argument sets
 * up its locale (to answer --help), which costs the child about 0.3 ms of
 * CPU that `true` without one skips.
 *
 * With --rss MIB, the loop first makes itself about MIB MiB resident (an
 * anonymous mapping, one byte written in every page), to spawn from a
 * parent of that size, and waits 3 s for the machine to settle
 * (bench_ballast.h says why).
 *
 * With --report, it prints to stderr, measured from after that set-up to
 * the end: `report: wall=S self=S children=S user=S sys=S` (seconds: wall
 * time, its own CPU time, its reaped children's, and its own split into
 * user and system time, from getrusage(): bench_report.h).
 *
 * Usage: spawn-loop [--number] [--rss MIB] [--report] N J [PROGRAM]
 */
#define _GNU_SOURCE
#include "bench_ballast.h"
#include "bench_report.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
    int number = 0, report = 0;
    long rss_mib = 0;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--number") == 0) {
            number = 1;
        } else if (strcmp(argv[1], "--report") == 0) {
            report = 1;
        } else if (strcmp(argv[1], "--rss") == 0 && argc > 2) {
            rss_mib = atol(argv[2]);
            --argc;
            ++argv;
        } else {
            break;
        }
        --argc;
        ++argv;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: spawn-loop [--number] [--rss MIB] [--report] N J [PROGRAM]\n");
        return 2;
    }
    if (ballast_make(rss_mib, "spawn-loop") != 0)
        return 1;
    ReportStart start;
    report_start(&start);
    long n = atol(argv[1]), j = atol(argv[2]), started = 0, running = 0, failed = 0;
    char *program = argc > 3 ? argv[3] : "/bin/true";
    char arg[32];
    char *child_argv[] = {program, number ? arg : NULL, NULL};
    while (started < n || running > 0) {
        while (started < n && running < j) {
            pid_t pid;
            snprintf(arg, sizeof arg, "%ld", started + 1);
            if (posix_spawn(&pid, program, NULL, NULL, child_argv, environ) != 0) {
                perror("spawn-loop: posix_spawn");
                return 1;
            }
            started++;
            running++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            perror("spawn-loop: waitpid");
            return 1;
        }
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    if (report)
        report_print(&start);
    return failed != 0;
}
