/* SPDX-License-Identifier: MIT */
/*
 * The `report:` line of spawn-loop and spawn-iter (--report), which
 * bench-throughput reads: wall time, the program's own CPU time (also split
 * into user and system) and its reaped children's, in seconds, since a start
 * taken with report_start().
 */
#ifndef PROCREACT_BENCH_REPORT_H
#define PROCREACT_BENCH_REPORT_H

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    struct timespec wall;
    struct rusage self, kids;
} ReportStart;

static inline double report_seconds(const struct timeval *tv)
{
    return tv->tv_sec + tv->tv_usec / 1e6;
}

static inline void report_start(ReportStart *start)
{
    clock_gettime(CLOCK_MONOTONIC, &start->wall);
    getrusage(RUSAGE_SELF, &start->self);
    getrusage(RUSAGE_CHILDREN, &start->kids);
}

/* Prints `report: wall=S self=S children=S user=S sys=S` to stderr. */
static inline void report_print(const ReportStart *start)
{
    ReportStart end;
    report_start(&end);
    const double user = report_seconds(&end.self.ru_utime) - report_seconds(&start->self.ru_utime);
    const double sys = report_seconds(&end.self.ru_stime) - report_seconds(&start->self.ru_stime);
    const double kids = report_seconds(&end.kids.ru_utime) + report_seconds(&end.kids.ru_stime) -
                        report_seconds(&start->kids.ru_utime) - report_seconds(&start->kids.ru_stime);
    fprintf(stderr, "report: wall=%.6f self=%.6f children=%.6f user=%.6f sys=%.6f\n",
            (end.wall.tv_sec - start->wall.tv_sec) + (end.wall.tv_nsec - start->wall.tv_nsec) / 1e9, user + sys,
            kids, user, sys);
}

#endif
