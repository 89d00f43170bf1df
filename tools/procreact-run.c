/* SPDX-License-Identifier: MIT */
/*
 * procreact-run: run many commands at once, as xargs -P or GNU parallel do,
 * on procreact's public API: spawned futures in a future iterator, driven
 * from a poll() loop through the iterator's descriptor and non-blocking
 * step, with per-job deadlines and whole-run cancellation.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#define EXIT_JOB_FAILED 1
#define EXIT_USAGE 2

/* ---------------------------------------------------------------- buffers */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static void die_oom(void)
{
    static const char msg[] = "procreact-run: out of memory\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    exit(EXIT_JOB_FAILED);
}

static void buf_reserve(Buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL)
        die_oom();
    b->data = grown;
    b->cap = cap;
}

static void buf_add(Buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void buf_str(Buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_printf(Buf *b, const char *format, ...)
{
    va_list ap;
    char small[128];
    va_start(ap, format);
    int n = vsnprintf(small, sizeof small, format, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        buf_add(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, format);
    vsnprintf(b->data + b->len, (size_t)n + 1, format, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The length of the valid UTF-8 sequence at @p s (at most @p n bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* A JSON string for any bytes: valid UTF-8 passes through, '"', '\\' and
 * control characters are escaped, and each byte that is not part of valid
 * UTF-8 becomes U+FFFD. */
static void buf_json_string(Buf *b, const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    buf_reserve(b, len + 2);
    buf_add(b, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            size_t j = i + 1;
            while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
                j++;
            buf_add(b, s + i, j - i);
            i = j;
            continue;
        }
        switch (c) {
        case '"':
            buf_str(b, "\\\"");
            i++;
            continue;
        case '\\':
            buf_str(b, "\\\\");
            i++;
            continue;
        case '\n':
            buf_str(b, "\\n");
            i++;
            continue;
        case '\t':
            buf_str(b, "\\t");
            i++;
            continue;
        case '\r':
            buf_str(b, "\\r");
            i++;
            continue;
        default:
            break;
        }
        if (c < 0x20) {
            buf_printf(b, "\\u%04x", c);
            i++;
            continue;
        }
        size_t seq = utf8_sequence(s + i, len - i);
        if (seq == 0) {
            buf_str(b, "\\ufffd");
            i++;
        } else {
            buf_add(b, s + i, seq);
            i += seq;
        }
    }
    buf_add(b, "\"", 1);
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EPIPE and the like: the reader is gone */
        }
        data += n;
        len -= (size_t)n;
    }
}

/* ------------------------------------------------------------------- jobs */

typedef struct {
    size_t index;
    char *command; /* as reported */
    pid_t pid;
    int done;
    int failed;
    Buf out;       /* what is printed for it (grouped output, or its JSON line) */
    Buf err;       /* grouped stderr */
} Job;

typedef struct {
    /* options */
    unsigned int jobs;
    double timeout;    /* < 0: none */
    double kill_after;
    int keep_order;
    int halt_on_error;
    int json;
    char **program;    /* NULL: shell mode */
    int program_argc;
    int substitute;    /* some argument holds {} */

    /* input */
    char *line;
    size_t line_cap;
    char *pending; /* the next line, read by has_next */
    int eof;

    /* running */
    ProcReact_FutureIterator it;
    Job **running;     /* by slot, at most `jobs` (or all, unlimited) */
    size_t running_len, running_cap;
    Job *last_spawned;
    size_t next_index;

    /* ordered output */
    Job **finished;    /* by index, while waiting to be printed */
    size_t finished_cap;
    size_t next_to_print;

    /* totals */
    size_t done, failed;
    int halted;
    int interrupted;   /* the signal that stopped the run, or 0 */

    /* progress */
    int progress;
    int progress_shown;
    double start, last_draw;
} Run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_clear(Run *r)
{
    if (r->progress_shown) {
        write_all(STDERR_FILENO, "\r\033[K", 4);
        r->progress_shown = 0;
    }
}

static void progress_draw(Run *r, int force)
{
    double now = now_s();
    if (!r->progress || (!force && now - r->last_draw < 0.1))
        return;
    r->last_draw = now;
    double elapsed = now - r->start;
    char line[160];
    int n = snprintf(line, sizeof line, "\r\033[Kprocreact-run: %zu done, %u running, %zu failed, %.1f s, %.1f jobs/s",
                     r->done, r->it.running_processes, r->failed, elapsed,
                     elapsed > 0 ? (double)r->done / elapsed : 0.0);
    if (n > 0)
        write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    r->progress_shown = 1;
}

static void emit(Run *r, Job *job)
{
    progress_clear(r);
    if (job->out.len > 0)
        write_all(STDOUT_FILENO, job->out.data, job->out.len);
    if (job->err.len > 0)
        write_all(STDERR_FILENO, job->err.data, job->err.len);
    free(job->out.data);
    free(job->err.data);
    free(job->command);
    free(job);
}

static void finished(Run *r, Job *job)
{
    if (!r->keep_order) {
        emit(r, job);
        return;
    }
    if (job->index >= r->finished_cap) {
        size_t cap = r->finished_cap ? r->finished_cap : 64;
        while (cap <= job->index)
            cap *= 2;
        Job **grown = realloc(r->finished, cap * sizeof *grown);
        if (grown == NULL)
            die_oom();
        memset(grown + r->finished_cap, 0, (cap - r->finished_cap) * sizeof *grown);
        r->finished = grown;
        r->finished_cap = cap;
    }
    r->finished[job->index] = job;
    while (r->next_to_print < r->finished_cap && r->finished[r->next_to_print] != NULL) {
        emit(r, r->finished[r->next_to_print]);
        r->finished[r->next_to_print++] = NULL;
    }
}

/* --------------------------------------------------------- the iterator */

static ProcReact_bool has_next(void *data)
{
    Run *r = data;
    if (r->halted || r->interrupted)
        return 0;
    while (r->pending == NULL && !r->eof) {
        ssize_t n = getline(&r->line, &r->line_cap, stdin);
        if (n < 0) {
            r->eof = 1;
            break;
        }
        if (n > 0 && r->line[n - 1] == '\n')
            r->line[--n] = '\0';
        if (n == 0)
            continue; /* empty lines are skipped */
        r->pending = r->line;
    }
    return r->pending != NULL;
}

/* @p arg with every "{}" replaced by @p line (malloc'ed). */
static char *substitute(const char *arg, const char *line)
{
    Buf b = {0};
    const char *p;
    while ((p = strstr(arg, "{}")) != NULL) {
        buf_add(&b, arg, (size_t)(p - arg));
        buf_str(&b, line);
        arg = p + 2;
    }
    buf_str(&b, arg);
    buf_add(&b, "", 1);
    return b.data;
}

static void track(Run *r, Job *job)
{
    if (r->running_len == r->running_cap) {
        size_t cap = r->running_cap ? r->running_cap * 2 : 16;
        Job **grown = realloc(r->running, cap * sizeof *grown);
        if (grown == NULL)
            die_oom();
        r->running = grown;
        r->running_cap = cap;
    }
    r->running[r->running_len++] = job;
}

static Job *untrack(Run *r, pid_t pid)
{
    if (pid <= 0) {
        Job *job = r->last_spawned; /* a failed spawn completes at once */
        for (size_t i = 0; i < r->running_len; i++)
            if (r->running[i] == job) {
                r->running[i] = r->running[--r->running_len];
                return job;
            }
        return NULL;
    }
    for (size_t i = 0; i < r->running_len; i++)
        if (r->running[i]->pid == pid) {
            Job *job = r->running[i];
            r->running[i] = r->running[--r->running_len];
            return job;
        }
    return NULL;
}

static ProcReact_Future next(void *data)
{
    Run *r = data;
    Job *job = calloc(1, sizeof *job);
    const char *shell[] = {"/bin/sh", "-c", r->pending, NULL};
    char **argv = NULL;
    Buf command = {0};
    if (job == NULL)
        die_oom();
    job->index = r->next_index++;
    if (r->program == NULL) {
        command.data = strdup(r->pending);
        if (command.data == NULL)
            die_oom();
    } else {
        int n = r->program_argc + (r->substitute ? 0 : 1);
        argv = calloc((size_t)n + 1, sizeof *argv);
        if (argv == NULL)
            die_oom();
        for (int i = 0; i < r->program_argc; i++)
            argv[i] = r->substitute ? substitute(r->program[i], r->pending) : strdup(r->program[i]);
        if (!r->substitute)
            argv[r->program_argc] = strdup(r->pending);
        for (int i = 0; i < n; i++) {
            if (argv[i] == NULL)
                die_oom();
            if (i > 0)
                buf_add(&command, " ", 1);
            buf_str(&command, argv[i]);
        }
        buf_add(&command, "", 1);
    }
    job->command = command.data;
    r->pending = NULL;

    ProcReact_Command *cmd = procreact_command_new(argv != NULL ? (const char *const *)argv : shell);
    if (cmd == NULL)
        die_oom();
    procreact_command_set_new_process_group(cmd, 1);
    procreact_command_set_stdout(cmd, PROCREACT_OUTPUT_CAPTURE, -1);
    procreact_command_set_stderr(cmd, PROCREACT_OUTPUT_CAPTURE, -1);
    ProcReact_Future future = procreact_command_spawn(cmd, procreact_create_output_type());
    procreact_command_free(cmd);
    if (argv != NULL) {
        for (int i = 0; argv[i] != NULL; i++)
            free(argv[i]);
        free(argv);
    }
    if (future.pid > 0) {
        if (r->timeout >= 0)
            procreact_future_set_timeout(&future, r->timeout);
        procreact_future_set_stop(&future, SIGTERM, r->kill_after);
    }
    job->pid = future.pid;
    track(r, job);
    r->last_spawned = job;
    return future;
}

static void complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    Job *job = untrack(r, future->pid);
    ProcReact_ExitInfo info;
    ProcReact_BytesState *out = future->result;
    const char *out_data = out != NULL ? (const char *)out->data : NULL;
    size_t out_len = out != NULL ? out->data_size : 0;
    (void)status;
    if (procreact_future_info(future, &info) != 0) {
        memset(&info, 0, sizeof info);
        info.exit_code = -1;
    }
    if (job == NULL) { /* cannot happen: every future is tracked */
        free(info.stderr_data);
        if (out != NULL) {
            free(out->data);
            free(out);
        }
        return;
    }
    int timed_out = (info.flags & PROCREACT_EXIT_TIMED_OUT) != 0;
    job->failed = info.exec_errno != 0 || !info.exited || info.exit_code != 0 || timed_out;
    if (r->json) {
        Buf *b = &job->out;
        buf_printf(b, "{\"index\":%zu,\"command\":", job->index);
        buf_json_string(b, job->command, strlen(job->command));
        if (info.exited)
            buf_printf(b, ",\"exit_code\":%d", info.exit_code);
        else
            buf_str(b, ",\"exit_code\":null");
        if (info.signal != 0)
            buf_printf(b, ",\"signal\":%d", info.signal);
        else
            buf_str(b, ",\"signal\":null");
        buf_printf(b, ",\"timed_out\":%s,\"exec_errno\":%d,\"wall_ms\":%.3f,\"cpu_ms\":%.3f,\"max_rss_kib\":%ld",
                   timed_out ? "true" : "false", info.exec_errno, info.wall_time * 1e3,
                   (info.user_time + info.system_time) * 1e3, info.max_rss_kib);
        buf_str(b, ",\"stdout\":");
        buf_json_string(b, out_data != NULL ? out_data : "", out_len);
        buf_str(b, ",\"stderr\":");
        buf_json_string(b, info.stderr_data != NULL ? info.stderr_data : "", info.stderr_length);
        buf_str(b, "}\n");
    } else {
        if (out_len > 0)
            buf_add(&job->out, out_data, out_len);
        if (info.stderr_length > 0)
            buf_add(&job->err, info.stderr_data, info.stderr_length);
        if (info.exec_errno != 0)
            buf_printf(&job->err, "procreact-run: cannot run '%s': %s\n", job->command, strerror(info.exec_errno));
        else if (timed_out)
            buf_printf(&job->err, "procreact-run: timed out: %s\n", job->command);
    }
    free(info.stderr_data);
    if (out != NULL) {
        free(out->data);
        free(out);
    }
    r->done++;
    if (job->failed) {
        r->failed++;
        if (r->halt_on_error && !r->halted) {
            r->halted = 1;
            procreact_future_iterator_cancel(&r->it);
        }
    }
    finished(r, job);
}

/* ---------------------------------------------------------------- signals */

static int g_signal_pipe[2] = {-1, -1};

static void on_signal(int signo)
{
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (write(g_signal_pipe[1], &byte, 1) < 0) {
        /* full: a signal is pending already */
    }
    errno = saved;
}

static void install_signals(void)
{
    if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("procreact-run: pipe");
        exit(EXIT_JOB_FAILED);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ------------------------------------------------------------------ usage */

static void usage(FILE *to)
{
    fputs("Usage: procreact-run [OPTION]... [-- PROGRAM [ARG]...]\n"
          "Run many commands at once: one per line of standard input, through\n"
          "/bin/sh -c; or, with -- PROGRAM, PROGRAM with each input line in place of {}\n"
          "in its arguments (or appended as the last one when none holds {}), without\n"
          "a shell. Each job runs in its own process group; its output is printed in\n"
          "one piece when it ends.\n"
          "\n"
          "  -j, --jobs N          run at most N jobs at once (default: the number of CPUs)\n"
          "      --timeout SECONDS stop a job that runs longer (SIGTERM to its group)\n"
          "      --kill-after SECONDS\n"
          "                        then SIGKILL it after this grace period (default: 2)\n"
          "  -k, --keep-order      print results in input order\n"
          "      --halt-on-error   after the first failed job, start no more and stop\n"
          "                        the running ones\n"
          "      --json            print one JSON object per job and line instead of its\n"
          "                        output: index, command, exit_code, signal, timed_out,\n"
          "                        exec_errno, wall_ms, cpu_ms, max_rss_kib, stdout,\n"
          "                        stderr (bytes that are not UTF-8 become U+FFFD)\n"
          "  -h, --help            show this help and exit\n"
          "  -V, --version         show the version and exit\n"
          "\n"
          "A progress line is shown on standard error when it is a terminal.\n"
          "\n"
          "Exit status:\n"
          "  0        every job succeeded\n"
          "  1        a job failed (non-zero exit, signal, timeout, or could not run)\n"
          "  2        bad usage\n"
          "  128+N    stopped by signal N (130 for Ctrl-C); every job was stopped\n",
          to);
}

static double parse_seconds(const char *option, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= 0) || isinf(v)) {
        fprintf(stderr, "procreact-run: %s: not a number of seconds: '%s'\n", option, text);
        usage(stderr);
        exit(EXIT_USAGE);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"jobs", required_argument, NULL, 'j'},       {"timeout", required_argument, NULL, 't'},
        {"kill-after", required_argument, NULL, 'K'}, {"keep-order", no_argument, NULL, 'k'},
        {"halt-on-error", no_argument, NULL, 'H'},   {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},             {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    Run r;
    memset(&r, 0, sizeof r);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r.jobs = cpus > 0 ? (unsigned int)cpus : 1;
    r.timeout = -1;
    r.kill_after = 2.0;
    int c;
    while ((c = getopt_long(argc, argv, "+j:khV", options, NULL)) != -1) {
        switch (c) {
        case 'j': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 1 || v > INT_MAX) {
                fprintf(stderr, "procreact-run: --jobs: not a positive number: '%s'\n", optarg);
                usage(stderr);
                return EXIT_USAGE;
            }
            r.jobs = (unsigned int)v;
            break;
        }
        case 't':
            r.timeout = parse_seconds("--timeout", optarg);
            break;
        case 'K':
            r.kill_after = parse_seconds("--kill-after", optarg);
            break;
        case 'k':
            r.keep_order = 1;
            break;
        case 'H':
            r.halt_on_error = 1;
            break;
        case 'J':
            r.json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("procreact-run %s\n", procreact_version());
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        r.program = argv + optind;
        r.program_argc = argc - optind;
        for (int i = 0; i < r.program_argc; i++)
            if (strstr(r.program[i], "{}") != NULL)
                r.substitute = 1;
    }

    install_signals();
    r.progress = isatty(STDERR_FILENO);
    r.start = now_s();
    r.it = procreact_initialize_future_iterator(has_next, next, complete, &r);
    int fd = procreact_future_iterator_fd(&r.it);
    if (fd < 0) {
        fprintf(stderr, "procreact-run: %s\n", strerror(errno));
        return EXIT_JOB_FAILED;
    }

    int active = procreact_future_iterator_step(&r.it, r.jobs);
    while (active == 1) {
        struct pollfd fds[2] = {{fd, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}};
        progress_draw(&r, 0);
        int n = poll(fds, 2, r.progress ? 100 : -1);
        if (n < 0 && errno != EINTR) {
            perror("procreact-run: poll");
            break;
        }
        if (n > 0 && fds[1].revents != 0) {
            unsigned char byte;
            while (read(g_signal_pipe[0], &byte, 1) == 1)
                if (!r.interrupted)
                    r.interrupted = byte;
            procreact_future_iterator_cancel(&r.it);
        }
        active = procreact_future_iterator_step(&r.it, r.jobs);
    }
    procreact_destroy_future_iterator(&r.it); /* kills and reaps anything left (only after an error) */
    if (r.progress) {
        progress_draw(&r, 1);
        write_all(STDERR_FILENO, "\n", 1);
    }
    free(r.line);
    free(r.running);
    free(r.finished);
    if (r.interrupted)
        return 128 + r.interrupted;
    return r.failed > 0 ? EXIT_JOB_FAILED : 0;
}
