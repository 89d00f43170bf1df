/* SPDX-License-Identifier: MIT */
/*
 * procreact-demo: the library's main job in four steps.
 *
 *  1. A future: a child computes something and writes "Hello <name>! ..."
 *     to its pipe; the parent gets it back as a string.
 *  2. A collection of children with a limit: 12 tasks, at most 4 at a time,
 *     each sleeping a random 100-400 ms and returning a string. A progress
 *     line (done/running/total) is redrawn in place on a terminal and printed
 *     as plain lines otherwise (CI logs, pipes).
 *  3. A child that execs a program: its stdout is dup2()'ed onto the
 *     future's pipe, and the output comes back as an array of lines via the
 *     string-array type.
 *  4. The main-loop step: a pid iterator, procreact_register_signal_handler()
 *     and procreact_complete_all_finished_processes() called from a loop that
 *     also does other work (it prints ticks) until every child is complete.
 *
 * Usage: procreact-demo [name]
 * Exits 0 when every step succeeded, 1 otherwise. Runs in a few seconds.
 * Children always end with _exit(), never exit(): they must not run the
 * parent's atexit handlers or flush its stdio buffers a second time.
 */
#define _POSIX_C_SOURCE 200809L
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------ */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ; /* interrupted (SIGCHLD): sleep for the rest */
}

/* Writes all of buf to fd; returns 0 on success. For use in children. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        const ssize_t n = write(fd, buf, len);
        if (n < 0)
            return -1; /* EINTR cannot happen here: the child installs no handler */
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *status_name(ProcReact_Status status)
{
    switch (status) {
    case PROCREACT_STATUS_OK:
        return "ok";
    case PROCREACT_STATUS_FORK_FAIL:
        return "fork failed";
    case PROCREACT_STATUS_WAIT_FAIL:
        return "wait failed";
    case PROCREACT_STATUS_ABNORMAL_TERMINATION:
        return "abnormal termination";
    default:
        return "other failure";
    }
}

/* A tiny PRNG (xorshift32) so that the parent picks the sleep times. */
static unsigned int g_rng;

static unsigned int next_random(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

/* ---- step 1: one future returning a string ------------------------------ */

static int step_future(const char *name)
{
    const double t0 = now_seconds();
    fflush(stdout); /* nothing buffered may be inherited by the child */
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == -1) {
        printf("  could not start the child\n");
        return 1;
    }
    if (future.pid == 0) {
        /* The child: some work, then the result on the pipe. */
        unsigned long long sum = 0;
        for (unsigned long long i = 1; i <= 1000000ULL; ++i)
            sum += i * i;
        char message[160];
        const int len = snprintf(message, sizeof message, "Hello %s! (pid %ld computed sum of squares 1..10^6 = %llu)",
                                 name, (long)getpid(), sum);
        _exit(len > 0 && write_all(future.fd, message, (size_t)len) == 0 ? 0 : 1);
    }

    ProcReact_Status status;
    char *result = procreact_future_get(&future, &status);
    const double elapsed = now_seconds() - t0;
    if (status != PROCREACT_STATUS_OK || result == NULL) {
        printf("  failed: %s%s\n", status_name(status), result == NULL ? ", no result" : "");
        free(result);
        return 1;
    }
    const int ok = strncmp(result, "Hello ", 6) == 0;
    printf("  result: \"%s\"\n", result);
    printf("  round trip: %.1f ms\n", elapsed * 1e3);
    free(result);
    return ok ? 0 : 1;
}

/* ---- step 2: many children, a limit, a progress line -------------------- */

enum { kTasks = 12, kLimit = 4 };

typedef struct {
    unsigned int next;    /* the next task to start */
    unsigned int done;    /* completed, with or without success */
    unsigned int failed;  /* completed without a correct result */
    int sleep_ms[kTasks]; /* chosen by the parent before any fork */
    int tty;              /* stdout is a terminal: redraw in place */
    double t0;
    char *results[kTasks];
} Batch;

static void show_progress(const Batch *b, const char *event)
{
    const unsigned int running = b->next - b->done;
    if (b->tty) {
        printf("\r  progress: %2u/%u done, %u running  %-30s", b->done, kTasks, running, event);
        fflush(stdout);
    } else {
        printf("  progress: %2u/%u done, %u running  (%s)\n", b->done, kTasks, running, event);
    }
}

static ProcReact_bool batch_has_next(void *data)
{
    const Batch *b = data;
    return b->next < kTasks;
}

static ProcReact_Future batch_next(void *data)
{
    Batch *b = data;
    const unsigned int task = b->next;
    fflush(stdout);
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    if (future.pid == 0) {
        sleep_ms(b->sleep_ms[task]);
        char message[96];
        const int len =
            snprintf(message, sizeof message, "task %2u: slept %3d ms in pid %ld", task, b->sleep_ms[task], (long)getpid());
        _exit(len > 0 && write_all(future.fd, message, (size_t)len) == 0 ? 0 : 1);
    }
    b->next++;
    char event[48];
    snprintf(event, sizeof event, "started task %u", task);
    show_progress(b, event);
    return future;
}

static void batch_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Batch *b = data;
    char *result = future->result; /* ours now */
    b->done++;
    if (status != PROCREACT_STATUS_OK || result == NULL) {
        b->failed++;
        free(result);
        show_progress(b, "a task FAILED");
        return;
    }
    unsigned int task = kTasks;
    if (sscanf(result, "task %u:", &task) == 1 && task < kTasks && b->results[task] == NULL)
        b->results[task] = result;
    else {
        b->failed++;
        free(result);
    }
    char event[48];
    snprintf(event, sizeof event, "task %u finished", task);
    show_progress(b, event);
}

static int step_batch(void)
{
    Batch b;
    memset(&b, 0, sizeof b);
    b.tty = isatty(STDOUT_FILENO);
    for (int i = 0; i < kTasks; ++i)
        b.sleep_ms[i] = 100 + (int)(next_random() % 301);
    b.t0 = now_seconds();

    ProcReact_FutureIterator iterator =
        procreact_initialize_future_iterator(batch_has_next, batch_next, batch_complete, &b);
    procreact_fork_buffer_and_wait_in_parallel_limit(&iterator, kLimit);
    procreact_destroy_future_iterator(&iterator);
    const double elapsed = now_seconds() - b.t0;
    if (b.tty)
        printf("\n");

    int total_sleep = 0;
    for (int i = 0; i < kTasks; ++i) {
        total_sleep += b.sleep_ms[i];
        if (b.results[i] != NULL)
            printf("  %s\n", b.results[i]);
        else
            printf("  task %2d: no result\n", i);
        free(b.results[i]);
    }
    printf("  %d tasks, limit %d: %.0f ms wall for %d ms of sleeping (%.1fx parallel)\n", kTasks, kLimit,
           elapsed * 1e3, total_sleep, (double)total_sleep / (elapsed * 1e3));
    return (b.done == kTasks && b.failed == 0) ? 0 : 1;
}

/* ---- step 3: exec a program, read its output as lines ------------------- */

static int step_exec(void)
{
    const double t0 = now_seconds();
    fflush(stdout);
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_array_type('\n'));
    if (future.pid == -1) {
        printf("  could not start the child\n");
        return 1;
    }
    if (future.pid == 0) {
        /* The program writes to stdout: make stdout the future's pipe. */
        if (dup2(future.fd, STDOUT_FILENO) < 0)
            _exit(126);
        if (future.fd != STDOUT_FILENO)
            close(future.fd);
        execlp("ls", "ls", "-1", "/usr/bin", (char *)NULL);
        _exit(127); /* exec failed */
    }

    ProcReact_Status status;
    char **lines = procreact_future_get(&future, &status);
    const double elapsed = now_seconds() - t0;
    if (status != PROCREACT_STATUS_OK || lines == NULL) {
        printf("  `ls -1 /usr/bin` failed: %s%s\n", status_name(status),
               lines == NULL ? " (no result: non-zero exit?)" : "");
        procreact_free_string_array(lines);
        return 1;
    }
    size_t count = 0;
    while (lines[count] != NULL)
        ++count;
    printf("  `ls -1 /usr/bin` printed %zu lines in %.1f ms; the first ones:\n", count, elapsed * 1e3);
    for (size_t i = 0; i < count && i < 5; ++i)
        printf("    %s\n", lines[i]);
    procreact_free_string_array(lines);
    return count > 0 ? 0 : 1;
}

/* ---- step 4: the main-loop step with a pid iterator --------------------- */

enum { kLoopChildren = 5 };

typedef struct {
    unsigned int next;
    unsigned int done;
    unsigned int failed;
    int sleep_ms[kLoopChildren];
    double t0;
} Loop;

static ProcReact_bool loop_has_next(void *data)
{
    const Loop *l = data;
    return l->next < kLoopChildren;
}

static pid_t loop_next(void *data)
{
    Loop *l = data;
    const unsigned int index = l->next++;
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(l->sleep_ms[index]);
        _exit((int)index); /* the exit code says which child this was */
    }
    if (pid > 0)
        printf("  started child %u (pid %ld, %d ms)\n", index, (long)pid, l->sleep_ms[index]);
    return pid;
}

static void loop_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Loop *l = data;
    l->done++;
    const int ok = status == PROCREACT_STATUS_OK && result >= 0 && result < kLoopChildren;
    if (!ok)
        l->failed++;
    printf("  [%5.0f ms] pid %ld complete: %s, exit code %d\n", (now_seconds() - l->t0) * 1e3, (long)pid,
           status_name(status), result);
}

static int step_main_loop(void)
{
    Loop l;
    memset(&l, 0, sizeof l);
    for (int i = 0; i < kLoopChildren; ++i)
        l.sleep_ms[i] = 80 + 60 * i;
    l.t0 = now_seconds();

    if (procreact_register_signal_handler() != 0) {
        printf("  could not install the SIGCHLD handler\n");
        return 1;
    }
    ProcReact_PidIterator iterator = procreact_initialize_pid_iterator(
        loop_has_next, loop_next, procreact_retrieve_exit_status, loop_complete, &l);
    while (procreact_spawn_next_pid(&iterator))
        ;

    /* The application's loop: other work (here: ticks) plus the step. */
    unsigned int ticks = 0;
    while (l.done < kLoopChildren) {
        procreact_complete_all_finished_processes(&iterator);
        if (l.done == kLoopChildren)
            break;
        printf("  tick %2u: %u running, doing other work\n", ++ticks, iterator.running_processes);
        sleep_ms(50);
        if (now_seconds() - l.t0 > 10.0) {
            printf("  gave up: children still running after 10 s\n");
            return 1;
        }
    }
    printf("  all %d children complete after %u ticks, %.0f ms\n", kLoopChildren, ticks,
           (now_seconds() - l.t0) * 1e3);
    return (l.failed == 0 && iterator.running_processes == 0) ? 0 : 1;
}

/* ---- main --------------------------------------------------------------- */

/* ---- 5. programs spawned in parallel (no fork of the demo), with exit details */

typedef struct {
    const char *const *scripts;
    unsigned int next, count, as_expected;
    ProcReact_Command *command;
} Spawned;

static const char *const g_scripts[] = {
    "echo 'hello from sh'",
    "echo 'to stderr' >&2; exit 3",
    "kill -TERM $$",
    "head -c 100000 /dev/zero | wc -c",
};

static ProcReact_bool spawned_has_next(void *data)
{
    Spawned *s = (Spawned *)data;
    return s->next < s->count;
}

static ProcReact_Future spawned_next(void *data)
{
    Spawned *s = (Spawned *)data;
    const char *argv[] = {"sh", "-c", NULL, NULL};
    ProcReact_Future future;
    argv[2] = s->scripts[s->next++];
    if (s->next > sizeof g_scripts / sizeof g_scripts[0]) {
        /* The last one names a program that does not exist. */
        argv[0] = "procreact-demo-no-such-program";
        argv[1] = NULL;
    }
    s->command = procreact_command_new(argv);
    procreact_command_set_stderr(s->command, PROCREACT_OUTPUT_CAPTURE, -1);
    future = procreact_command_spawn(s->command, procreact_create_string_type());
    procreact_command_free(s->command); /* the future does not need it */
    return future;
}

static void spawned_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Spawned *s = (Spawned *)data;
    ProcReact_ExitInfo info;
    char *out = (char *)future->result;
    if (procreact_future_info(future, &info) != 0)
        return;
    if (info.exec_errno != 0)
        printf("  could not run: %s\n", strerror(info.exec_errno)); /* the program never started: no fork failed */
    else if (info.exited)
        printf("  pid %d exited %d after %.1f ms, %.1f ms CPU, peak %ld KiB", (int)future->pid, info.exit_code,
               info.wall_time * 1e3, (info.user_time + info.system_time) * 1e3, info.max_rss_kib);
    else
        printf("  pid %d killed by signal %d (%s)", (int)future->pid, info.signal, status_name(status));
    if (info.exec_errno == 0) {
        if (out != NULL)
            printf(", stdout \"%.*s\"", (int)strcspn(out, "\n"), out);
        if (info.stderr_length != 0)
            printf(", stderr \"%.*s\"", (int)strcspn(info.stderr_data, "\n"), info.stderr_data);
        printf("\n");
    }
    s->as_expected += info.exec_errno != 0 || info.exited || info.signal == SIGTERM;
    free(info.stderr_data);
    free(out);
}

static int step_spawn(void)
{
    Spawned s = {g_scripts, 0, sizeof g_scripts / sizeof g_scripts[0] + 1, 0, NULL};
    ProcReact_FutureIterator it =
        procreact_initialize_future_iterator(spawned_has_next, spawned_next, spawned_complete, &s);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 3);
    procreact_destroy_future_iterator(&it);
    return s.as_expected == s.count ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "procreact";
    g_rng = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16) ^ 0x9e3779b9u;
    if (g_rng == 0)
        g_rng = 1;

    static const struct {
        const char *title;
        int which;
    } steps[] = {
        {"1. a future returning a string", 1},
        {"2. 12 children, at most 4 at a time", 2},
        {"3. a child that execs a program, output as lines", 3},
        {"4. the main-loop step with a pid iterator", 4},
        {"5. programs spawned in parallel, with exit details", 5},
    };
    int failures = 0;
    const double t0 = now_seconds();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; ++i) {
        printf("%s\n", steps[i].title);
        const double ts = now_seconds();
        int rc = 1;
        switch (steps[i].which) {
        case 1:
            rc = step_future(name);
            break;
        case 2:
            rc = step_batch();
            break;
        case 3:
            rc = step_exec();
            break;
        case 4:
            rc = step_main_loop();
            break;
        case 5:
            rc = step_spawn();
            break;
        }
        printf("  -> %s (%.0f ms)\n\n", rc == 0 ? "OK" : "FAILED", (now_seconds() - ts) * 1e3);
        failures += rc != 0;
    }
    printf("procreact-demo: %d of %zu steps failed, %.2f s in total\n", failures, sizeof steps / sizeof steps[0],
           now_seconds() - t0);
    return failures == 0 ? 0 : 1;
}
