/* SPDX-License-Identifier: MIT */
/*
 * procreact-run: run many commands at once, as xargs -P or GNU parallel do,
 * on procreact's public API. This file is the main loop: one poll() over
 * the collection's descriptor (procreact_future_iterator_fd), the signal
 * pipe, the input (only while a job could start and no item is ready: the
 * input is never read blindly, so signals and deadlines act while it is
 * idle), our standard output (to see a reader leave) and the jobs' stderr
 * pipes; then the non-blocking procreact_future_iterator_step().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <procreact_control.h>

#include "run-emit.h"
#include "run-jobs.h"
#include "run-jobtype.h"
#include "run-output.h"

static int g_signal_pipe[2] = {-1, -1};

static void on_signal(int signo)
{
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    g_stop_signal = signo;
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
    sa.sa_flags = 0; /* no SA_RESTART: a write blocked on a stuck reader gives up */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* EPIPE instead: the run stops quietly */
}

static size_t open_descriptors(void)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 16;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* -j within what the descriptor limit allows (-j 0: all of that); sets
 * the descriptor budget of the jobs. */
static unsigned int jobs_limit(const Options *o, unsigned long long *budget)
{
    struct rlimit rl;
    *budget = ~0ull;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return o->jobs ? o->jobs : 1u << 20;
    /* Per job: RUN_FDS_PER_JOB (2 with --ungroup: no pipes, no spools);
     * besides, a reserve for the spawn itself and ourselves. */
    unsigned long long per_job = o->ungroup ? 2 : RUN_FDS_PER_JOB, reserve = open_descriptors() + 16;
    *budget = rl.rlim_cur > reserve + per_job ? rl.rlim_cur - reserve : per_job;
    unsigned long long most = *budget / per_job;
    if (most > (1u << 20))
        most = 1u << 20;
    if (o->jobs == 0)
        return (unsigned int)most;
    if (o->jobs > most) {
        fprintf(stderr, "procreact-run: warning: -j %u lowered to %llu: only %llu file descriptors (ulimit -n)\n",
                o->jobs, most, (unsigned long long)rl.rlim_cur);
        return (unsigned int)most;
    }
    return o->jobs;
}

/* Reads the pending signals; the first one is the one the exit status reports. */
static void take_signals(Run *r)
{
    unsigned char byte;
    while (read(g_signal_pipe[0], &byte, 1) == 1)
        if (!r->interrupted)
            r->interrupted = byte;
}

/* --dry-run: the commands, not run. */
static void dry_run(Run *r)
{
    ArgSet items;
    int got;
    while (!r->interrupted && !g_output.broken && (got = input_next(r->in, &items)) != -1) {
        if (got == 0) {
            struct pollfd fds[2] = {{input_fd(r->in), POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}};
            if (poll(fds, 2, -1) > 0 && fds[1].revents != 0)
                take_signals(r);
            else
                input_read(r->in);
            continue;
        }
        char *display;
        r->next_seq++;
        ArgSet none = {NULL, 0};
        char **argv = template_argv(&r->tpl, r->opt.no_items ? &none : &items, r->next_seq, 1, &display);
        template_free_argv(argv);
        argset_free(&items);
        out_write(STDOUT_FILENO, display, strlen(display));
        out_write(STDOUT_FILENO, "\n", 1);
        free(display);
    }
}

static int stdout_is_pipe(void)
{
    struct stat st;
    return fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

static void loop(Run *r)
{
    int it_fd = procreact_future_iterator_fd(&r->it);
    if (it_fd < 0) {
        fprintf(stderr, "procreact-run: %s\n", strerror(errno));
        exit(EXIT_JOB_FAILED);
    }
    int watch_stdout = stdout_is_pipe(), tty = isatty(STDERR_FILENO);
    struct pollfd *fds = NULL;
    Job **owners = NULL;
    size_t cap = 0;
    int active = procreact_future_iterator_step(&r->it, r->limit);
    for (;;) {
        if (!r->output_gone && (g_output.broken || g_output.error != 0 || g_output.gave_up)) {
            r->output_gone = 1;
            run_stop(r);
        }
        if (active == 0 && r->ndraining == 0 &&
            !((r->need_input || r->delaying) && !r->halted && !r->interrupted && !r->output_gone))
            break;
        if (cap < 2 * (r->nrunning + r->ndraining) + 4) {
            cap = (2 * (r->nrunning + r->ndraining) + 4) * 2;
            fds = xrealloc(fds, cap * sizeof *fds);
            owners = xrealloc(owners, cap * sizeof *owners);
        }
        size_t n = 0;
        fds[n++] = (struct pollfd){it_fd, POLLIN, 0};
        fds[n++] = (struct pollfd){g_signal_pipe[0], POLLIN, 0};
        size_t stdout_at = watch_stdout && !r->output_gone ? n : 0, input_at = 0;
        if (stdout_at)
            fds[n++] = (struct pollfd){STDOUT_FILENO, 0, 0};
        if (r->need_input && r->nrunning < r->limit && !r->interrupted && !r->output_gone) {
            input_at = n;
            fds[n++] = (struct pollfd){input_fd(r->in), POLLIN, 0};
        }
        size_t jobs_at = n;
        for (size_t i = 0; i < r->nrunning + r->ndraining; i++) {
            Job *job = i < r->nrunning ? r->running[i] : r->draining[i - r->nrunning];
            int job_fds[2];
            size_t count = job_output_fds(r, job, job_fds);
            for (size_t k = 0; k < count; k++) {
                owners[n] = job;
                fds[n++] = (struct pollfd){job_fds[k], POLLIN, 0};
            }
        }
        progress_draw(r, 0);
        int timeout = tty ? 100 : -1; /* redraw the progress line */
        if (r->delaying) {
            int wait_ms = (int)((r->start_after - monotonic_s()) * 1000.0) + 1;
            timeout = timeout >= 0 && timeout < wait_ms ? timeout : wait_ms < 0 ? 0 : wait_ms;
        }
        int ready = poll(fds, n, timeout);
        if (ready < 0 && errno != EINTR) {
            /* Cannot wait any more: kill the jobs (reaped with the iterator) and fail. */
            perror("procreact-run: poll");
            run_kill(r);
            r->failed++;
            break;
        }
        if (ready > 0 && fds[1].revents != 0) {
            int stopping = r->interrupted != 0;
            take_signals(r);
            if (stopping) {
                /* A second signal: SIGKILL to every group now; destroying the iterator reaps them. */
                run_kill(r);
                break;
            }
            run_stop(r);
        }
        if (ready > 0 && stdout_at && (fds[stdout_at].revents & POLLERR))
            g_output.broken = 1; /* the reader left */
        if (ready > 0 && input_at && fds[input_at].revents != 0)
            input_read(r->in);
        for (size_t i = jobs_at; ready > 0 && i < n; i++)
            if (fds[i].revents != 0)
                job_output_read(r, owners[i], fds[i].fd);
        active = procreact_future_iterator_step(&r->it, r->limit);
    }
    free(fds);
    free(owners);
}

int main(int argc, char **argv)
{
    static Run r;
    /* Our iterator spawns from one thread (run_init() sets it: see there);
     * the override is also kept out of the jobs, which inherit the
     * environment, as before 0.6. */
    unsetenv("PROCREACT_SPAWN_THREADS");
    options_parse(&r.opt, argc, argv);
    install_signals();
    r.limit = jobs_limit(&r.opt, &r.fd_budget);
    r.in = input_open(&r.opt);
    if (r.opt.joblog != NULL && !r.opt.dry_run)
        r.joblog = joblog_open(r.opt.joblog, r.opt.resume);
    run_init(&r);
    if (r.opt.dry_run)
        dry_run(&r);
    else
        loop(&r);
    procreact_destroy_future_iterator(&r.it); /* kills and reaps anything left (only after an error) */
    run_finish(&r);
    progress_end(&r);
    size_t refused = input_refused(r.in);
    run_free(&r);
    options_free(&r.opt);
    if (r.interrupted)
        return 128 + r.interrupted;
    if (g_output.broken)
        return 128 + SIGPIPE;
    if (g_output.error != 0) {
        fprintf(stderr, "procreact-run: writing the output: %s\n", strerror(g_output.error));
        return EXIT_JOB_FAILED;
    }
    if (r.halted && r.opt.halt_on_success)
        return 0; /* --halt ...,success=N was met: a success, as in GNU parallel */
    return r.failed > 0 || refused > 0 ? EXIT_JOB_FAILED : 0;
}
