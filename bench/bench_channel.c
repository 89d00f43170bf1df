/* SPDX-License-Identifier: MIT */
/*
 * bench-channel: procreact's message channel against a hand-written loop on
 * a raw AF_UNIX socketpair with the same framing (4-byte big-endian length),
 * parent and forked child, alternating rounds, medians and paired ratios:
 *
 *   - round trip of a 16-byte message (target: <= 1.3x raw);
 *   - one-way 64-byte messages, one write each on the raw side
 *     (target: >= 0.9x the raw rate, i.e. time <= 1.11x);
 *   - one 64 MiB message (target: >= 0.8x raw bulk, i.e. time <= 1.25x),
 *     with the parent's CPU time.
 *
 * Usage: bench-channel [--rounds N] [--json FILE]
 * BENCH_ITERATIONS sets the round trips per round (default 20000).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include <procreact_channel.h>
#include <procreact_future.h>
#include <procreact_types.h>

enum { kSmall = 64, kOneWay = 200000, kRoundTripSize = 16 };
#define kBulk ((size_t)64 << 20)

static long g_iterations = 20000;
static unsigned char *g_bulk;

/* --------------------------------------------------------------- raw side */

static int raw_read_all(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        const ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int raw_write_all(int fd, const void *buf, size_t len)
{
    size_t put = 0;
    while (put < len) {
        const ssize_t n = write(fd, (const char *)buf + put, len - put);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        put += (size_t)n;
    }
    return 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Forks a raw child running @p body on its end; returns the parent's end. */
static int raw_child(void (*body)(int), pid_t *pid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    *pid = fork();
    if (*pid == 0) {
        close(sv[0]);
        body(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    return sv[0];
}

static void raw_echo(int fd)
{
    unsigned char buf[4 + kRoundTripSize];
    for (;;) {
        if (raw_read_all(fd, buf, 4) != 0)
            return;
        const uint32_t n = get_be32(buf);
        if (raw_read_all(fd, buf + 4, n) != 0 || raw_write_all(fd, buf, 4 + n) != 0)
            return;
    }
}

static int raw_roundtrip(void *ctx)
{
    (void)ctx;
    pid_t pid;
    const int fd = raw_child(raw_echo, &pid);
    unsigned char buf[4 + kRoundTripSize] = {0};
    put_be32(buf, kRoundTripSize);
    for (long i = 0; i < g_iterations; ++i)
        if (raw_write_all(fd, buf, sizeof buf) != 0 || raw_read_all(fd, buf, sizeof buf) != 0)
            return -1;
    close(fd);
    return bench_wait_ok(pid) ? 0 : -1;
}

static void raw_send_small(int fd)
{
    unsigned char buf[4 + kSmall] = {0};
    put_be32(buf, kSmall);
    for (int i = 0; i < kOneWay; ++i)
        if (raw_write_all(fd, buf, sizeof buf) != 0)
            return;
}

static int raw_oneway(void *ctx)
{
    (void)ctx;
    pid_t pid;
    const int fd = raw_child(raw_send_small, &pid);
    static unsigned char buf[65536];
    size_t have = 0;
    int count = 0;
    /* A reader as one would write it: big reads, frames cut out of them. */
    while (count < kOneWay) {
        const ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        size_t at = 0;
        while (have - at >= 4 && have - at >= 4 + get_be32(buf + at)) {
            at += 4 + get_be32(buf + at);
            ++count;
        }
        memmove(buf, buf + at, have - at);
        have -= at;
    }
    close(fd);
    return bench_wait_ok(pid) ? 0 : -1;
}

static void raw_send_bulk(int fd)
{
    unsigned char head[4];
    put_be32(head, (uint32_t)kBulk);
    if (raw_write_all(fd, head, 4) == 0)
        raw_write_all(fd, g_bulk, kBulk);
}

static int raw_bulk(void *ctx)
{
    (void)ctx;
    pid_t pid;
    const int fd = raw_child(raw_send_bulk, &pid);
    unsigned char head[4];
    unsigned char *body = malloc(kBulk);
    int rc = body != NULL && raw_read_all(fd, head, 4) == 0 && get_be32(head) == kBulk &&
                     raw_read_all(fd, body, kBulk) == 0
                 ? 0
                 : -1;
    free(body);
    close(fd);
    return bench_wait_ok(pid) && rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ library side */

/* Forks a child with a channel running @p body; the parent's end in @p ch. */
static int ours_child(void (*body)(ProcReact_Channel *), ProcReact_Future *future, ProcReact_Channel **ch)
{
    ProcReact_Channel *child = NULL;
    *future = procreact_initialize_future_with_channel(procreact_create_string_type(), PROCREACT_CHANNEL_FRAMED,
                                                       &child);
    if (future->pid == 0) {
        body(child);
        _exit(0);
    }
    if (future->pid < 0)
        return -1;
    *ch = procreact_future_channel(future);
    return *ch != NULL ? 0 : -1;
}

static int ours_finish(ProcReact_Future *future, ProcReact_Channel *ch)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    procreact_channel_shutdown(ch); /* the child sees the end */
    procreact_channel_free(ch);
    free(procreact_future_get(future, &status));
    return status == PROCREACT_STATUS_OK ? 0 : -1;
}

static void ours_echo(ProcReact_Channel *ch)
{
    ProcReact_Message *m;
    while (procreact_channel_recv(ch, &m, -1) == 0) {
        if (procreact_channel_send_wait(ch, procreact_message_data(m), procreact_message_size(m), NULL, 0, -1) != 0)
            return;
        procreact_message_free(m);
    }
}

static int ours_roundtrip(void *ctx)
{
    (void)ctx;
    ProcReact_Future future;
    ProcReact_Channel *ch;
    unsigned char buf[kRoundTripSize] = {0};
    if (ours_child(ours_echo, &future, &ch) != 0)
        return -1;
    for (long i = 0; i < g_iterations; ++i) {
        ProcReact_Message *m;
        if (procreact_channel_send(ch, buf, sizeof buf, NULL, 0) < 0 || procreact_channel_recv(ch, &m, -1) != 0)
            return -1;
        procreact_message_free(m);
    }
    return ours_finish(&future, ch);
}

static void ours_send_small(ProcReact_Channel *ch)
{
    unsigned char buf[kSmall] = {0};
    for (int i = 0; i < kOneWay; ++i) {
        const int r = procreact_channel_send(ch, buf, sizeof buf, NULL, 0);
        if (r < 0)
            return;
        if (r == 1 && procreact_channel_flush(ch, -1) != 0) /* past the high-water mark: wait */
            return;
    }
    procreact_channel_flush(ch, -1);
}

static int ours_oneway(void *ctx)
{
    (void)ctx;
    ProcReact_Future future;
    ProcReact_Channel *ch;
    if (ours_child(ours_send_small, &future, &ch) != 0)
        return -1;
    for (int i = 0; i < kOneWay; ++i) {
        ProcReact_Message *m;
        if (procreact_channel_recv(ch, &m, -1) != 0)
            return -1;
        procreact_message_free(m);
    }
    return ours_finish(&future, ch);
}

static void ours_send_bulk(ProcReact_Channel *ch)
{
    procreact_channel_set_max_message(ch, kBulk);
    procreact_channel_send_wait(ch, g_bulk, kBulk, NULL, 0, -1);
}

static int ours_bulk(void *ctx)
{
    (void)ctx;
    ProcReact_Future future;
    ProcReact_Channel *ch;
    ProcReact_Message *m;
    if (ours_child(ours_send_bulk, &future, &ch) != 0)
        return -1;
    procreact_channel_set_max_message(ch, kBulk);
    if (procreact_channel_recv(ch, &m, -1) != 0 || procreact_message_size(m) != kBulk)
        return -1;
    procreact_message_free(m);
    return ours_finish(&future, ch);
}

/* ------------------------------------------------------------------ main */

typedef struct {
    const char *name;
    double ours, base, ratio, ours_cpu, base_cpu;
} Result;

static int run(const char *name, int rounds, BenchRound ours, BenchRound base, double per, Result *r)
{
    BenchPair pair;
    if (bench_alternate(name, rounds, ours, NULL, base, NULL, &pair) != 0)
        return -1;
    r->name = name;
    r->ours = bench_median(pair.ours_wall, rounds) / per;
    r->base = bench_median(pair.base_wall, rounds) / per;
    r->ratio = bench_paired_ratio(pair.ours_wall, pair.base_wall, rounds);
    r->ours_cpu = bench_median(pair.ours_cpu, rounds);
    r->base_cpu = bench_median(pair.base_cpu, rounds);
    return 0;
}

int main(int argc, char **argv)
{
    long rounds = 7;
    const char *json = NULL;
    if (bench_rounds_json_args(argc, argv, &rounds, &json) != 0)
        return 2;
    g_iterations = bench_env_long("BENCH_ITERATIONS", g_iterations);
    g_bulk = malloc(kBulk);
    if (g_bulk == NULL)
        return 1;
    memset(g_bulk, 0x5a, kBulk);
    signal(SIGPIPE, SIG_IGN);

    Result res[3];
    if (run("round trip 16 B", (int)rounds, ours_roundtrip, raw_roundtrip, (double)g_iterations, &res[0]) != 0 ||
        run("one-way 64 B", (int)rounds, ours_oneway, raw_oneway, (double)kOneWay, &res[1]) != 0 ||
        run("one 64 MiB message", (int)rounds, ours_bulk, raw_bulk, 1.0, &res[2]) != 0)
        return 1;

    bench_table_header();
    bench_table_row("round trip 16 B (per message)", res[0].ours, res[0].base, 1e6, "us", "<= 1.3x raw",
                    res[0].ratio <= 1.3 ? "ok" : "MISS");
    bench_table_row("one-way 64 B (per message)", res[1].ours, res[1].base, 1e6, "us", "<= 1.11x (>= 0.9x rate)",
                    res[1].ratio <= 1.0 / 0.9 ? "ok" : "MISS");
    bench_table_row("one 64 MiB message", res[2].ours, res[2].base, 1e3, "ms", "<= 1.25x (>= 0.8x rate)",
                    res[2].ratio <= 1.25 ? "ok" : "MISS");
    bench_table_row("  parent CPU, 64 MiB", res[2].ours_cpu, res[2].base_cpu, 1e3, "ms", "(information)", "");
    printf("paired ratios: round trip %.3f, one-way %.3f, bulk %.3f\n", res[0].ratio, res[1].ratio, res[2].ratio);
    printf("rates: one-way ours %.0f msg/s, raw %.0f msg/s; bulk ours %.2f GB/s, raw %.2f GB/s\n", 1.0 / res[1].ours,
           1.0 / res[1].base, (double)kBulk / res[2].ours / 1e9, (double)kBulk / res[2].base / 1e9);
    if (json != NULL) {
        FILE *out = fopen(json, "w");
        if (out == NULL) {
            perror(json);
            return 1;
        }
        fprintf(out, "{\"benchmark\":\"channel\",\"rounds\":%ld,\"results\":[", rounds);
        for (int i = 0; i < 3; ++i)
            fprintf(out,
                    "%s{\"name\":\"%s\",\"ours_s\":%.9f,\"raw_s\":%.9f,\"paired_ratio\":%.4f,"
                    "\"ours_parent_cpu_s\":%.6f,\"raw_parent_cpu_s\":%.6f}",
                    i ? "," : "", res[i].name, res[i].ours, res[i].base, res[i].ratio, res[i].ours_cpu,
                    res[i].base_cpu);
        fprintf(out, "]}\n");
        fclose(out);
    }
    free(g_bulk);
    return 0;
}
