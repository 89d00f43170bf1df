/* SPDX-License-Identifier: MIT */
/*
 * Benchmark 3: the string-array type on a long line and on many short ones.
 *
 * Case "one line": the child writes 32 MiB without a single delimiter. A
 * splitter that rescans the growing token on every read is quadratic here;
 * a linear one takes about as long as copying the bytes.
 * Case "short lines": the child writes 32 MiB as lines of 32 bytes (31
 * characters and '\n'), i.e. about a million tokens.
 *
 *   ours:     procreact_initialize_future(procreact_create_string_array_type('\n'))
 *             + procreact_future_get()
 *   baseline: pipe/fork, read everything into one geometrically grown
 *             buffer, then one memchr() pass that makes the same malloc'ed,
 *             NULL-terminated array of malloc'ed tokens.
 *
 * Target: the one-line case well under a second (we flag it at 0.25 s), and
 * linear: the same line at a quarter of the size must take about a quarter
 * of the time (flagged when the full size takes 8x or more; quadratic is 16x).
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_MIB (default 32).
 */
#define _GNU_SOURCE
#include <procreact_future.h>
#include <procreact_types.h>

#include "bench.h"

enum { kChunk = 1 << 20, kLine = 32 };

typedef struct {
    size_t total;
    const char *chunk; /* kChunk bytes of the pattern to send */
    size_t expected_tokens;
} Split;

static int check_and_free(char **tokens, const Split *s)
{
    if (tokens == NULL)
        return -1;
    size_t count = 0, bytes = 0;
    for (char **p = tokens; *p != NULL; ++p) {
        ++count;
        bytes += strlen(*p);
    }
    procreact_free_string_array(tokens);
    const size_t delimiters = s->expected_tokens == 1 ? 0 : s->expected_tokens;
    return (count == s->expected_tokens && bytes == s->total - delimiters) ? 0 : -1;
}

static int ours_round(void *ctx)
{
    const Split *s = ctx;
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_array_type('\n'));
    if (future.pid == -1)
        return -1;
    if (future.pid == 0)
        bench_write_repeated(future.fd, s->chunk, kChunk, s->total);
    ProcReact_Status status;
    char **tokens = procreact_future_get(&future, &status);
    if (status != PROCREACT_STATUS_OK) {
        procreact_free_string_array(tokens);
        return -1;
    }
    return check_and_free(tokens, s);
}

static char **split_buffer(const char *data, size_t size)
{
    size_t slots = 16, count = 0;
    char **out = malloc(slots * sizeof *out);
    if (out == NULL)
        return NULL;
    const char *token = data, *end = data + size;
    while (token < end) {
        const char *hit = memchr(token, '\n', (size_t)(end - token));
        const char *stop = hit != NULL ? hit : end;
        if (count + 1 >= slots) {
            char **grown = realloc(out, slots * 2 * sizeof *out);
            if (grown == NULL)
                goto fail;
            out = grown;
            slots *= 2;
        }
        const size_t len = (size_t)(stop - token);
        char *copy = malloc(len + 1);
        if (copy == NULL)
            goto fail;
        memcpy(copy, token, len);
        copy[len] = '\0';
        out[count++] = copy;
        token = hit != NULL ? hit + 1 : end;
    }
    out[count] = NULL;
    return out;
fail:
    out[count] = NULL;
    procreact_free_string_array(out);
    return NULL;
}

static int baseline_round(void *ctx)
{
    const Split *s = ctx;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    const pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        bench_write_repeated(fds[1], s->chunk, kChunk, s->total);
    }
    close(fds[1]);
    size_t size = 0, capacity = 64 * 1024;
    char *data = malloc(capacity);
    int failed = data == NULL;
    while (!failed) {
        if (capacity - size < 64 * 1024) {
            char *grown = realloc(data, capacity * 2);
            if (grown == NULL) {
                failed = 1;
                break;
            }
            data = grown;
            capacity *= 2;
        }
        const ssize_t n = read(fds[0], data + size, capacity - size);
        if (n > 0)
            size += (size_t)n;
        else if (n == 0)
            break;
        else if (errno != EINTR)
            failed = 1;
    }
    close(fds[0]);
    const int exited_ok = bench_wait_ok(pid);
    char **tokens = (!failed && exited_ok) ? split_buffer(data, size) : NULL;
    free(data);
    return check_and_free(tokens, s);
}

static int run_case(const char *name, const char *label, Split *s, int rounds, int with_target, double *ours_wall)
{
    BenchPair pair;
    if (bench_alternate(name, rounds, ours_round, s, baseline_round, s, &pair) != 0)
        return -1;
    const double ow = bench_median(pair.ours_wall, rounds), bw = bench_median(pair.base_wall, rounds);
    if (ours_wall != NULL)
        *ours_wall = ow;
    const double oc = bench_median(pair.ours_cpu, rounds), bc = bench_median(pair.base_cpu, rounds);
    char row[64];
    snprintf(row, sizeof row, "%s: wall", label);
    if (with_target)
        bench_table_row(row, ow, bw, 1e3, "ms", "ours < 250 ms", ow < 0.25 ? "MET" : "MISSED");
    else
        bench_table_row(row, ow, bw, 1e3, "ms", "(contrast)", "");
    snprintf(row, sizeof row, "%s: parent CPU", label);
    bench_table_row(row, oc, bc, 1e3, "ms", "(info)", "");
    fflush(stdout);
    return 0;
}

int main(void)
{
    const int rounds = (int)bench_env_long("BENCH_ROUNDS", 7);
    const long mib = bench_env_long("BENCH_MIB", 32);
    const size_t total = (size_t)mib << 20;
    char *one_line = malloc(kChunk), *lines = malloc(kChunk);
    if (one_line == NULL || lines == NULL)
        return 1;
    for (size_t i = 0; i < kChunk; ++i) {
        one_line[i] = (char)('a' + i % 26);
        lines[i] = (i % kLine == kLine - 1) ? '\n' : (char)('a' + i % 26);
    }
    Split single = {total, one_line, 1};
    Split quarter = {total / 4, one_line, 1};
    Split many = {total, lines, total / kLine};
    char label_one[48], label_quarter[48], label_many[48];
    snprintf(label_one, sizeof label_one, "split %ld MiB, one line", mib);
    snprintf(label_quarter, sizeof label_quarter, "split %ld KiB, one line", (long)(total / 4 / 1024));
    snprintf(label_many, sizeof label_many, "split %ld MiB, %zu lines", mib, total / kLine);

    printf("Benchmark 3: string-array type ('\\n') on %ld MiB\n", mib);
    printf("  ours: string-array type; baseline: read all, then one memchr() pass\n");
    printf("  %d rounds per side per case, alternating, medians shown\n", rounds);
    printf("\n");
    bench_table_header();
    fflush(stdout);
    double full = 0.0, part = 0.0;
    if (run_case("split-one-line", label_one, &single, rounds, 1, &full) != 0)
        return 1;
    if (run_case("split-quarter-line", label_quarter, &quarter, rounds, 0, &part) != 0)
        return 1;
    if (run_case("split-short-lines", label_many, &many, rounds, 0, NULL) != 0)
        return 1;
    /* Four times the bytes: about 4x the time when linear, 16x when quadratic. */
    const double growth = part > 0.0 ? full / part : 0.0;
    printf("%-38s %12s %12s %8.2f  %-22s %s\n", "one line: time(4x bytes)/time(1x)", "", "", growth,
           "< 8 (linear ~4)", growth < 8.0 ? "MET" : "MISSED");
    free(one_line);
    free(lines);
    return 0;
}
