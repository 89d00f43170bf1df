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
 * Usage: spawn-loop [--number] N J [PROGRAM]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    int number = argc > 1 && strcmp(argv[1], "--number") == 0;
    argc -= number;
    argv += number;
    if (argc < 3) {
        fprintf(stderr, "usage: spawn-loop [--number] N J [PROGRAM]\n");
        return 2;
    }
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
    return failed != 0;
}
