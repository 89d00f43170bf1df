/* SPDX-License-Identifier: MIT */
/*
 * bench-channel's peers: runs another runtime's channel benchmark (Node or
 * Bun on bench/bench_channel_node.js) one round at a time and reads the
 * round trip and message rate from its JSON line.
 */
#ifndef PROCREACT_BENCH_PEER_H
#define PROCREACT_BENCH_PEER_H

#include "bench.h"

#define BENCH_MAX_PEERS 4

typedef struct {
    char label[32];
    const char *command; /* run with /bin/sh -c, BENCH_PEER_ROUNDS=1 */
    double round_trip[BENCH_MAX_ROUNDS]; /* seconds */
    double rate[BENCH_MAX_ROUNDS];       /* messages per second */
    int rounds;
} BenchPeer;

/* Parses `LABEL=COMMAND` into @p peer; -1 when malformed. */
static inline int bench_peer_parse(const char *spec, BenchPeer *peer)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof peer->label || eq[1] == '\0')
        return -1;
    memset(peer, 0, sizeof *peer);
    memcpy(peer->label, spec, (size_t)(eq - spec));
    peer->command = eq + 1;
    return 0;
}

/* The number after "\"key\":" in @p json, or -1. */
static inline double bench_json_number(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    return at != NULL ? strtod(at + strlen(pattern), NULL) : -1.0;
}

/* Runs one round of @p peer and records it; -1 when it failed. */
static inline int bench_peer_round(BenchPeer *peer)
{
    char cmd[1024], line[1024] = {0};
    snprintf(cmd, sizeof cmd, "BENCH_PEER_ROUNDS=1 %s", peer->command);
    FILE *out = popen(cmd, "r");
    if (out == NULL)
        return -1;
    int found = 0;
    while (fgets(line, sizeof line, out) != NULL)
        if (strstr(line, "\"round_trip_us\"") != NULL) {
            found = 1;
            break;
        }
    while (fgetc(out) != EOF)
        ;
    const int status = pclose(out);
    const double rt = found ? bench_json_number(line, "round_trip_us") : -1.0;
    const double rate = found ? bench_json_number(line, "one_way_msgs_per_s") : -1.0;
    if (status != 0 || rt <= 0 || rate <= 0 || peer->rounds >= BENCH_MAX_ROUNDS) {
        fprintf(stderr, "peer %s: no result from: %s\n", peer->label, peer->command);
        return -1;
    }
    peer->round_trip[peer->rounds] = rt / 1e6;
    peer->rate[peer->rounds] = rate;
    ++peer->rounds;
    fprintf(stderr, "  peer %s round %d: round trip %.2f us, %.0f msg/s\n", peer->label, peer->rounds, rt, rate);
    return 0;
}

#endif /* PROCREACT_BENCH_PEER_H */
