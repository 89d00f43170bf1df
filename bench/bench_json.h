/* SPDX-License-Identifier: MIT */
/*
 * bench_json.h: the C benchmarks' machine-readable results, for bench/plot.py.
 *
 * bench_json_open("scaling") makes RESULTS/scaling-<UTC time>.json, where
 * RESULTS is $BENCH_RESULTS, else the source tree's bench/results (set by
 * meson as BENCH_RESULTS_DIR), and writes the fields every result file has
 * (benchmark, date, cores); the caller writes its own fields after it, each
 * starting with ",\n", and bench_json_close() ends the object and says where
 * the file went.
 */
#ifndef BENCH_JSON_H
#define BENCH_JSON_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h" /* BENCH_MAX_ROUNDS */

#ifndef BENCH_RESULTS_DIR
#define BENCH_RESULTS_DIR "bench/results"
#endif

static inline FILE *bench_json_open(const char *name, char *path, size_t path_size)
{
    const char *dir = getenv("BENCH_RESULTS");
    char stamp[32], date[32];
    time_t now = time(NULL);
    struct tm tm;
    FILE *f;
    if (dir == NULL || dir[0] == '\0')
        dir = BENCH_RESULTS_DIR;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    mkdir(dir, 0777); /* may exist */
    snprintf(path, path_size, "%s/%s-%s.json", dir, name, stamp);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench-%s: cannot write %s (set BENCH_RESULTS to a directory)\n", name, path);
        return NULL;
    }
    fprintf(f, "{\n\"benchmark\": \"%s\",\n\"date\": \"%s\",\n\"cores\": %ld", name, date,
            sysconf(_SC_NPROCESSORS_ONLN));
    return f;
}

/* ,\n"key": [v0, v1, ...] with @p scale applied (1e6: microseconds). */
static inline void bench_json_array(FILE *f, const char *key, const double *values, int n, double scale)
{
    fprintf(f, ",\n\"%s\": [", key);
    for (int i = 0; i < n; ++i)
        fprintf(f, "%s%.6g", i ? ", " : "", values[i] * scale);
    fputc(']', f);
}

/* One row of a table measured at several sizes: `"key": {"label": ...,
 * "median_us": [per size], "rounds_us": [[per round] per size]}`, after a
 * comma unless @p first. @p per_round[s][r] and @p median[s] in seconds. */
static inline void bench_json_row(FILE *f, int first, const char *key, const char *label, const double *median,
                                  double (*per_round)[BENCH_MAX_ROUNDS], int nsizes, long rounds)
{
    fprintf(f, "%s\n\"%s\": {\"label\": \"%s\"", first ? "" : ",", key, label);
    bench_json_array(f, "median_us", median, nsizes, 1e6);
    fputs(",\n\"rounds_us\": [", f);
    for (int s = 0; s < nsizes; ++s) {
        fputs(s ? ", [" : "[", f);
        for (long r = 0; r < rounds; ++r)
            fprintf(f, "%s%.6g", r ? ", " : "", per_round[s][r] * 1e6);
        fputc(']', f);
    }
    fputs("]}", f);
}

static inline int bench_json_close(FILE *f, const char *name, const char *path)
{
    fputs("\n}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "bench-%s: cannot write %s\n", name, path);
        return -1;
    }
    fprintf(stderr, "bench-%s: results in %s\n", name, path);
    return 0;
}

#endif
