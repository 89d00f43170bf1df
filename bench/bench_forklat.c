/* SPDX-License-Identifier: MIT */
/*
 * Fork latency: how long an application thread's own fork() takes while
 * other threads run collections through the library.
 *
 * Every fork() in the process takes the library's fork handler, which waits
 * for the library's table lock. If the library held that lock across system
 * calls (waiting, reaping, signalling), an application's fork would wait for
 * them. Workers: half run future iterators of children that write 64 KiB
 * each (many reads), half drive pid iterators by hand with 0.1's busy
 * procreact_complete_all_finished_processes() loop. Meanwhile the measuring
 * thread forks a child that exits at once, every millisecond, and records
 * the time fork() took in the parent.
 *
 * Run the same binary against two builds of the library to compare them:
 *   LD_LIBRARY_PATH=old/src ./bench-forklat --json old.json
 *   ./bench-forklat --json new.json
 *
 * Usage: bench-forklat [--threads N] [--seconds S] [--json FILE]
 */
#define _GNU_SOURCE
#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_types.h>

#include <pthread.h>
#include <stdatomic.h>

#include "bench.h"

static atomic_int g_stop;

typedef struct {
    int left;
} Batch;

static ProcReact_bool batch_has_next(void *data)
{
    return ((Batch *)data)->left > 0;
}

static ProcReact_Future writer_next(void *data)
{
    static const char chunk[4096];
    ((Batch *)data)->left--;
    ProcReact_Future f = procreact_initialize_future(procreact_create_bytes_type());
    if (f.pid == 0) {
        bench_write_repeated(f.fd, chunk, sizeof chunk, 64 * 1024);
        _exit(0);
    }
    return f;
}

static void writer_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    ProcReact_BytesState *bytes = future->result;
    (void)data;
    (void)status;
    if (bytes != NULL) {
        free(bytes->data);
        free(bytes);
    }
}

static pid_t sleeper_next(void *data)
{
    ((Batch *)data)->left--;
    pid_t pid = fork();
    if (pid == 0) {
        usleep(2000);
        _exit(0);
    }
    return pid;
}

static void *futures_worker(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        Batch b = {8};
        ProcReact_FutureIterator it = procreact_initialize_future_iterator(batch_has_next, writer_next, writer_complete, &b);
        procreact_fork_buffer_and_wait_in_parallel_limit(&it, 4);
        procreact_destroy_future_iterator(&it);
    }
    return NULL;
}

static void *pids_worker(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        Batch b = {4};
        ProcReact_PidIterator it = procreact_initialize_pid_iterator(batch_has_next, sleeper_next, NULL, NULL, &b);
        while (procreact_spawn_next_pid(&it))
            ;
        while (it.running_processes > 0) /* 0.1's main-loop style */
            procreact_complete_all_finished_processes(&it);
    }
    return NULL;
}

static double percentile(double *sorted, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return n == 0 ? 0 : sorted[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
    long threads = 8, seconds = 3;
    const char *json = NULL;
    for (int i = 1; i < argc; ++i) {
        const char *v;
        if (bench_option(argc, argv, &i, "--threads", &v))
            bench_parse_long(v, 0, 64, &threads);
        else if (bench_option(argc, argv, &i, "--seconds", &v))
            bench_parse_long(v, 1, 600, &seconds);
        else if (bench_option(argc, argv, &i, "--json", &v))
            json = v;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--seconds S] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    pthread_t workers[64];
    for (long t = 0; t < threads; ++t)
        pthread_create(&workers[t], NULL, t % 2 == 0 ? futures_worker : pids_worker, NULL);

    enum { kMax = 200000 };
    static double lat[kMax];
    int n = 0;
    const double end = bench_wall_now() + (double)seconds;
    while (bench_wall_now() < end && n < kMax) {
        const double t0 = bench_wall_now();
        const pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        lat[n++] = bench_wall_now() - t0;
        waitpid(pid, NULL, 0);
        usleep(1000);
    }
    atomic_store(&g_stop, 1);
    for (long t = 0; t < threads; ++t)
        pthread_join(workers[t], NULL);

    qsort(lat, (size_t)n, sizeof lat[0], bench_cmp_double);
    const double p50 = percentile(lat, n, 0.50) * 1e6, p99 = percentile(lat, n, 0.99) * 1e6,
                 max = lat[n > 0 ? n - 1 : 0] * 1e6;
    printf("fork latency with %ld threads running collections: %d forks, p50 %.1f us, p99 %.1f us, max %.1f us\n",
           threads, n, p50, p99, max);
    if (json != NULL) {
        FILE *out = fopen(json, "w");
        if (out == NULL) {
            perror(json);
            return 1;
        }
        fprintf(out, "{\"benchmark\":\"forklat\",\"threads\":%ld,\"forks\":%d,\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f}\n",
                threads, n, p50, p99, max);
        fclose(out);
    }
    return 0;
}
