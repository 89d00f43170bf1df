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
 *     with the parent's CPU time;
 *   - the one-way messages again with the batching API (a coalescing
 *     sender, procreact_channel_recv_many() in the parent);
 *   - with --peer, another runtime's numbers on the same messages
 *     (bench/bench_channel_node.js under Node or Bun), one round of each
 *     after each round of ours, medians; ours against them (targets:
 *     <= 1/5 their round trip, >= 5x their rate).
 *
 * Usage: bench-channel [--rounds N] [--json FILE] [--peer LABEL=COMMAND]...
 * BENCH_ITERATIONS sets the round trips per round (default 20000).
 */
#define _GNU_SOURCE
#include "bench.h"
#include "bench_channel_raw.h"
#include "bench_peer.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include <procreact_channel.h>
#include <procreact_future.h>
#include <procreact_types.h>

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

/* The same messages with the batching API: a coalescing sender, a receiver
 * that takes up to 1024 messages per call. */
static void ours_send_coalesced(ProcReact_Channel *ch)
{
    procreact_channel_set_coalesce(ch, 1);
    ours_send_small(ch);
}

static int ours_oneway_batched(void *ctx)
{
    (void)ctx;
    ProcReact_Future future;
    ProcReact_Channel *ch;
    static ProcReact_Message *got[1024];
    if (ours_child(ours_send_coalesced, &future, &ch) != 0)
        return -1;
    for (int seen = 0; seen < kOneWay;) {
        const int n = procreact_channel_recv_many(ch, got, 1024, -1);
        if (n <= 0)
            return -1;
        for (int i = 0; i < n; ++i)
            procreact_message_free(got[i]);
        seen += n;
    }
    return ours_finish(&future, ch);
}

/* ------------------------------------------------------------------ main */

enum { kResults = 4 };

typedef struct {
    const char *name;
    BenchRound ours_round, base_round;
    double per; /* messages per round (1 for the bulk message) */
    double ours, base, ratio, ours_cpu, base_cpu;
} Result;

static Result g_rows[kResults] = {
    {"round trip 16 B", ours_roundtrip, raw_roundtrip, 0, 0, 0, 0, 0, 0},
    {"one-way 64 B", ours_oneway, raw_oneway, kOneWay, 0, 0, 0, 0, 0},
    {"one 64 MiB message", ours_bulk, raw_bulk, 1, 0, 0, 0, 0, 0},
    {"one-way 64 B batched", ours_oneway_batched, raw_oneway, kOneWay, 0, 0, 0, 0, 0},
};

/* Round by round: each row's pair (the side that goes first swaps every
 * round), then one round of each peer (their order turns too), so that ours,
 * raw and the peers share the machine's conditions. After a warm-up pair. */
static int run_all(int rounds, BenchPeer *peers, int npeers)
{
    static BenchPair pairs[kResults];
    BenchSample s;
    g_rows[0].per = (double)g_iterations;
    for (int k = 0; k < kResults; ++k)
        if (bench_measure(g_rows[k].ours_round, NULL, &s) != 0 || bench_measure(g_rows[k].base_round, NULL, &s) != 0)
            return -1;
    for (int r = 0; r < rounds; ++r) {
        for (int k = 0; k < kResults; ++k) {
            BenchSample so, sb;
            const int rc = r % 2 == 0 ? bench_measure(g_rows[k].ours_round, NULL, &so) |
                                            bench_measure(g_rows[k].base_round, NULL, &sb)
                                      : bench_measure(g_rows[k].base_round, NULL, &sb) |
                                            bench_measure(g_rows[k].ours_round, NULL, &so);
            if (rc != 0) {
                fprintf(stderr, "%s: round %d failed\n", g_rows[k].name, r + 1);
                return -1;
            }
            pairs[k].ours_wall[r] = so.wall;
            pairs[k].ours_cpu[r] = so.cpu;
            pairs[k].base_wall[r] = sb.wall;
            pairs[k].base_cpu[r] = sb.cpu;
            fprintf(stderr, "  %s round %2d/%d: ours %.4f s  raw %.4f s\n", g_rows[k].name, r + 1, rounds, so.wall,
                    sb.wall);
        }
        for (int p = 0; p < npeers; ++p)
            if (bench_peer_round(&peers[(p + r) % npeers]) != 0)
                return -1;
    }
    for (int k = 0; k < kResults; ++k) {
        Result *row = &g_rows[k];
        row->ours = bench_median(pairs[k].ours_wall, rounds) / row->per;
        row->base = bench_median(pairs[k].base_wall, rounds) / row->per;
        row->ratio = bench_paired_ratio(pairs[k].ours_wall, pairs[k].base_wall, rounds);
        row->ours_cpu = bench_median(pairs[k].ours_cpu, rounds);
        row->base_cpu = bench_median(pairs[k].base_cpu, rounds);
    }
    return 0;
}

/* The table, and against each peer: its round trip over ours and raw, and
 * our best one-way rate over its (targets: ours <= 1/5 its round trip,
 * >= 5x its rate). */
static void report(const Result *res, const BenchPeer *peers, int npeers)
{
    const double best = res[1].ours < res[3].ours ? res[1].ours : res[3].ours; /* seconds per message */
    bench_table_header();
    bench_table_row("round trip 16 B (per message)", res[0].ours, res[0].base, 1e6, "us", "<= 1.3x raw",
                    res[0].ratio <= 1.3 ? "ok" : "MISS");
    bench_table_row("one-way 64 B (per message)", res[1].ours, res[1].base, 1e6, "us", "<= 1.11x (>= 0.9x rate)",
                    res[1].ratio <= 1.0 / 0.9 ? "ok" : "MISS");
    bench_table_row("one-way 64 B, coalesce + recv_many", res[3].ours, res[3].base, 1e6, "us", "(information)", "");
    bench_table_row("one 64 MiB message", res[2].ours, res[2].base, 1e3, "ms", "<= 1.25x (>= 0.8x rate)",
                    res[2].ratio <= 1.25 ? "ok" : "MISS");
    bench_table_row("  parent CPU, 64 MiB", res[2].ours_cpu, res[2].base_cpu, 1e3, "ms", "(information)", "");
    printf("paired ratios: round trip %.3f, one-way %.3f, one-way batched %.3f, bulk %.3f\n", res[0].ratio,
           res[1].ratio, res[3].ratio, res[2].ratio);
    printf("rates: one-way ours %.0f msg/s, batched %.0f msg/s, raw %.0f msg/s; bulk ours %.2f GB/s, raw %.2f GB/s\n",
           1.0 / res[1].ours, 1.0 / res[3].ours, 1.0 / res[1].base, (double)kBulk / res[2].ours / 1e9,
           (double)kBulk / res[2].base / 1e9);
    for (int p = 0; p < npeers; ++p) {
        const double rt = bench_median(peers[p].round_trip, peers[p].rounds);
        const double rate = bench_median(peers[p].rate, peers[p].rounds);
        printf("peer %-8s round trip %8.2f us (ours %.3fx %s, raw %.3fx)  rate %10.0f msg/s (ours best %.2fx %s)\n",
               peers[p].label, rt * 1e6, res[0].ours / rt, res[0].ours / rt <= 0.2 ? "ok" : "MISS",
               res[0].base / rt, rate, 1.0 / best / rate, 1.0 / best / rate >= 5.0 ? "ok" : "MISS");
    }
}

static int write_json(const char *path, long rounds, const Result *res, const BenchPeer *peers, int npeers)
{
    FILE *out = fopen(path, "w");
    if (out == NULL) {
        perror(path);
        return -1;
    }
    fprintf(out, "{\"benchmark\":\"channel\",\"rounds\":%ld,\"results\":[", rounds);
    for (int i = 0; i < kResults; ++i)
        fprintf(out,
                "%s{\"name\":\"%s\",\"ours_s\":%.9f,\"raw_s\":%.9f,\"paired_ratio\":%.4f,"
                "\"ours_parent_cpu_s\":%.6f,\"raw_parent_cpu_s\":%.6f}",
                i ? "," : "", res[i].name, res[i].ours, res[i].base, res[i].ratio, res[i].ours_cpu, res[i].base_cpu);
    fprintf(out, "],\"peers\":[");
    for (int p = 0; p < npeers; ++p)
        fprintf(out, "%s{\"name\":\"%s\",\"rounds\":%d,\"round_trip_s\":%.9f,\"one_way_msgs_per_s\":%.0f}",
                p ? "," : "", peers[p].label, peers[p].rounds, bench_median(peers[p].round_trip, peers[p].rounds),
                bench_median(peers[p].rate, peers[p].rounds));
    fprintf(out, "]}\n");
    return fclose(out) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    long rounds = 7;
    const char *json = NULL;
    BenchPeer peers[BENCH_MAX_PEERS];
    int npeers = 0;
    for (int i = 1; i < argc; ++i) {
        const char *v;
        if (bench_option(argc, argv, &i, "--rounds", &v) && bench_parse_long(v, 1, BENCH_MAX_ROUNDS, &rounds) == 0)
            continue;
        if (bench_option(argc, argv, &i, "--json", &v)) {
            json = v;
            continue;
        }
        if (bench_option(argc, argv, &i, "--peer", &v) && npeers < BENCH_MAX_PEERS &&
            bench_peer_parse(v, &peers[npeers]) == 0) {
            ++npeers;
            continue;
        }
        fprintf(stderr, "usage: %s [--rounds N] [--json FILE] [--peer LABEL=COMMAND]...\n", argv[0]);
        return 2;
    }
    g_iterations = bench_env_long("BENCH_ITERATIONS", g_iterations);
    g_bulk = malloc(kBulk);
    if (g_bulk == NULL)
        return 1;
    memset(g_bulk, 0x5a, kBulk);
    signal(SIGPIPE, SIG_IGN);

    if (run_all((int)rounds, peers, npeers) != 0)
        return 1;
    report(g_rows, peers, npeers);
    if (json != NULL && write_json(json, rounds, g_rows, peers, npeers) != 0)
        return 1;
    free(g_bulk);
    return 0;
}
