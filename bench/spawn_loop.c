/* SPDX-License-Identifier: MIT */
/*
 * spawn-loop: the hand-written limit for running N programs J at a time:
 * posix_spawn() and waitpid(), nothing else. Reads nothing; runs PROGRAM
 * (default /bin/true) N times with at most J in flight.
 *
 * Usage: spawn-loop N J [PROGRAM]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spawn-loop N J [PROGRAM]\n");
        return 2;
    }
    long n = atol(argv[1]), j = atol(argv[2]), started = 0, running = 0, failed = 0;
    char *program = argc > 3 ? argv[3] : "/bin/true";
    char *child_argv[] = {program, NULL};
    while (started < n || running > 0) {
        while (started < n && running < j) {
            pid_t pid;
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
