/* SPDX-License-Identifier: MIT */
/*
 * Suite 'exhaustion': fork() failing (through the test-only interposer in
 * forkfail.c) and descriptors running out (RLIMIT_NOFILE lowered while
 * futures run). Each item that cannot be started completes with
 * PROCREACT_STATUS_FORK_FAIL, the others succeed with the right result,
 * nothing leaks, and once the limit is lifted the library works again.
 */
#include "hard.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_types.h>

#include "forkfail.h"

#define MAX_ITEMS 512

typedef struct {
    long next, total;
    long ok, fork_fail, wrong;
    signed char outcome[MAX_ITEMS]; /* 1 ok, 2 fork failure, -1 wrong */
    int gate;                       /* read end the children wait on, or -1 */
    int gate_write;                 /* closed by has_next once all are spawned */
} Run;

static void run_init(Run *r, long total)
{
    memset(r, 0, sizeof *r);
    r->total = total;
    r->gate = r->gate_write = -1;
}

static ProcReact_bool has_next(void *data)
{
    Run *r = data;
    if (r->next < r->total)
        return 1;
    if (r->gate_write >= 0) { /* everything is spawned: let the children go */
        close(r->gate_write);
        r->gate_write = -1;
    }
    return 0;
}

static void wait_gate(const Run *r)
{
    if (r->gate < 0)
        return;
    close(r->gate_write);
    char c;
    while (read(r->gate, &c, 1) < 0 && errno == EINTR)
        ;
}

static ProcReact_Future future_next(void *data)
{
    Run *r = data;
    const long i = r->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0) {
        wait_gate(r);
        char buf[32];
        int len = snprintf(buf, sizeof buf, "item %ld", i);
        _exit(hard_write_all(f.fd, buf, (size_t)len) == 0 ? 0 : 1);
    }
    if (f.pid < 0)
        assert_int_equal(f.fd, -1);
    return f;
}

static void future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Run *r = data;
    char *s = future->result;
    if (status == PROCREACT_STATUS_FORK_FAIL) {
        /* failed spawns complete synchronously, inside the spawn of the
         * item that next() just made */
        const long i = r->next - 1;
        if (s == NULL && future->pid == -1 && r->outcome[i] == 0) {
            r->outcome[i] = 2;
            r->fork_fail++;
        } else {
            r->wrong++;
        }
    } else if (status == PROCREACT_STATUS_OK && s != NULL && strncmp(s, "item ", 5) == 0) {
        long i = strtol(s + 5, NULL, 10);
        if (i >= 0 && i < r->total && r->outcome[i] == 0) {
            r->outcome[i] = 1;
            r->ok++;
        } else {
            r->wrong++;
        }
    } else {
        r->wrong++;
    }
    free(s);
}

static pid_t pid_next(void *data)
{
    Run *r = data;
    const long i = r->next++;
    pid_t pid = fork();
    if (pid == 0) {
        wait_gate(r);
        _exit((int)(i % 200));
    }
    return pid;
}

static void pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Run *r = data;
    if (status == PROCREACT_STATUS_FORK_FAIL) {
        const long i = r->next - 1;
        if (pid == -1 && result == -1 && r->outcome[i] == 0) {
            r->outcome[i] = 2;
            r->fork_fail++;
        } else {
            r->wrong++;
        }
    } else if (status == PROCREACT_STATUS_OK && pid > 0 && result >= 0 && result < 200) {
        r->ok++;
    } else {
        r->wrong++;
    }
}

/* ---- fork() failing ---- */

static void single_future_fork_fails(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    forkfail_arm(0, 1);
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    assert_int_equal(f.pid, -1);
    assert_int_equal(f.fd, -1);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&f, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&f, &st)); /* repeatable */
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    procreact_destroy_future(&f);
    HARD_ASSERT_NO_LEAK(before); /* the pipe made before the fork is gone */

    /* the next one works */
    f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "back", 4) == 0 ? 0 : 1);
    char *s = procreact_future_get(&f, &st);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_string_equal(s, "back");
    free(s);
    HARD_ASSERT_NO_LEAK(before);
}

static void check_window(const Run *r, long skip, long count)
{
    for (long i = 0; i < r->total; ++i) {
        const int expect = (i >= skip && i < skip + count) ? 2 : 1;
        if (r->outcome[i] != expect)
            print_error("item %ld: outcome %d, expected %d\n", i, r->outcome[i], expect);
        assert_int_equal(r->outcome[i], expect);
    }
}

static void future_iterator_fork_fails(void **unused)
{
    (void)unused;
    static const unsigned limits[] = { 0, 1, 8, 64 };
    HardSnapshot before = hard_snapshot();
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; ++k) {
        static Run r;
        run_init(&r, 200);
        const long skip = 37, count = 50;
        const long calls0 = forkfail_calls();
        forkfail_arm(skip, count);
        ProcReact_FutureIterator it = procreact_initialize_future_iterator(has_next, future_next, future_complete, &r);
        procreact_fork_buffer_and_wait_in_parallel_limit(&it, limits[k]);
        procreact_destroy_future_iterator(&it);
        print_message("exhaustion: future iterator limit %u: %ld ok, %ld fork failures, %ld wrong (%ld forks)\n",
                      limits[k], r.ok, r.fork_fail, r.wrong, forkfail_calls() - calls0);
        assert_int_equal(r.wrong, 0);
        assert_int_equal(r.fork_fail, count);
        assert_int_equal(r.ok, r.total - count);
        check_window(&r, skip, count);
        HARD_ASSERT_NO_LEAK(before);
    }
}

static void pid_iterator_fork_fails(void **unused)
{
    (void)unused;
    static const unsigned limits[] = { 0, 1, 8 };
    HardSnapshot before = hard_snapshot();
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; ++k) {
        static Run r;
        run_init(&r, 150);
        const long skip = 10, count = 25;
        forkfail_arm(skip, count);
        ProcReact_PidIterator it = procreact_initialize_pid_iterator(has_next, pid_next, NULL, pid_complete, &r);
        procreact_fork_and_wait_in_parallel_limit(&it, limits[k]);
        print_message("exhaustion: pid iterator limit %u: %ld ok, %ld fork failures, %ld wrong\n", limits[k], r.ok,
                      r.fork_fail, r.wrong);
        assert_int_equal(r.wrong, 0);
        assert_int_equal(r.fork_fail, count);
        assert_int_equal(r.ok, r.total - count);
        for (long i = skip; i < skip + count; ++i)
            assert_int_equal(r.outcome[i], 2);
        HARD_ASSERT_NO_LEAK(before);
    }
}

/* ---- descriptors running out ---- */

static int highest_fd(void)
{
    int hi = 2;
    for (int fd = 3; fd < 1024; ++fd)
        if (fcntl(fd, F_GETFD) >= 0)
            hi = fd;
    return hi;
}

/* Descriptors that plug the holes below the highest one in use, so that the
 * lowered limit leaves exactly the intended number of free descriptors. */
static int g_fillers[1024];
static int g_filler_count;

/* Lowers the soft RLIMIT_NOFILE so that exactly @p spare descriptors are left
 * free. Returns the old limit in @p old. */
static void lower_nofile(int spare, struct rlimit *old)
{
    const int hi = highest_fd();
    g_filler_count = 0;
    for (;;) {
        int d = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(d >= 0);
        if (d > hi || g_filler_count == 1024) {
            close(d);
            break;
        }
        g_fillers[g_filler_count++] = d;
    }
    assert_int_equal(getrlimit(RLIMIT_NOFILE, old), 0);
    struct rlimit low = *old;
    low.rlim_cur = (rlim_t)(hi + 1 + spare);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
}

static void restore_nofile(const struct rlimit *old)
{
    assert_int_equal(setrlimit(RLIMIT_NOFILE, old), 0);
    for (int i = 0; i < g_filler_count; ++i)
        close(g_fillers[i]);
    g_filler_count = 0;
}

static void open_gate(Run *r)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    r->gate = p[0];
    r->gate_write = p[1];
}

static void close_gate(Run *r)
{
    if (r->gate_write >= 0)
        close(r->gate_write);
    close(r->gate);
    r->gate = r->gate_write = -1;
}

static void future_iterator_out_of_descriptors(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    static Run r;
    run_init(&r, 60);
    open_gate(&r);
    struct rlimit old;
    lower_nofile(41, &old);
    /* all 60 are spawned at once and wait on the gate: each running one holds
     * a pipe and a pidfd, so the descriptors run out part way */
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(has_next, future_next, future_complete, &r);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 0);
    /* more work while still limited: quick children, 16 at a time */
    static Run quick;
    run_init(&quick, 300);
    ProcReact_FutureIterator it2 = procreact_initialize_future_iterator(has_next, future_next, future_complete, &quick);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it2, 16);
    procreact_destroy_future_iterator(&it);
    procreact_destroy_future_iterator(&it2);
    restore_nofile(&old);
    close_gate(&r);
    print_message("exhaustion: RLIMIT_NOFILE: gated %ld ok + %ld failed, quick %ld ok + %ld failed, %ld + %ld wrong\n",
                  r.ok, r.fork_fail, quick.ok, quick.fork_fail, r.wrong, quick.wrong);
    assert_int_equal(r.wrong, 0);
    assert_int_equal(quick.wrong, 0);
    assert_int_equal(r.ok + r.fork_fail, r.total);
    assert_int_equal(quick.ok + quick.fork_fail, quick.total);
    assert_true(r.fork_fail > 0); /* the limit did bite */
    assert_true(r.ok >= 10);      /* and the others went through */
    HARD_ASSERT_NO_LEAK(before);

    /* lifted: everything works again */
    static Run after;
    run_init(&after, 200);
    ProcReact_FutureIterator it3 = procreact_initialize_future_iterator(has_next, future_next, future_complete, &after);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it3, 32);
    procreact_destroy_future_iterator(&it3);
    assert_int_equal(after.ok, after.total);
    assert_int_equal(after.wrong + after.fork_fail, 0);
    HARD_ASSERT_NO_LEAK(before);
}

static void pid_iterator_out_of_descriptors(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    static Run r;
    run_init(&r, 40);
    open_gate(&r);
    struct rlimit old;
    /* pidfd_open() fails with EMFILE for the later children: they are
     * watched by pid instead, mixed with pidfd-watched ones */
    lower_nofile(12, &old);
    ProcReact_PidIterator it = procreact_initialize_pid_iterator(has_next, pid_next, NULL, pid_complete, &r);
    procreact_fork_and_wait_in_parallel_limit(&it, 0);
    restore_nofile(&old);
    close_gate(&r);
    print_message("exhaustion: RLIMIT_NOFILE pid iterator: %ld ok, %ld failed, %ld wrong\n", r.ok, r.fork_fail,
                  r.wrong);
    assert_int_equal(r.wrong, 0);
    assert_int_equal(r.ok, r.total);
    HARD_ASSERT_NO_LEAK(before);
}

static void single_future_out_of_descriptors(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    struct rlimit old;
    lower_nofile(1, &old); /* a pipe needs two */
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        _exit(0);
    restore_nofile(&old);
    assert_int_equal(f.pid, -1);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    assert_null(procreact_future_get(&f, &st));
    assert_int_equal(st, PROCREACT_STATUS_FORK_FAIL);
    HARD_ASSERT_NO_LEAK(before);

    lower_nofile(2, &old); /* just enough for the pipe */
    f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "tight", 5) == 0 ? 0 : 1);
    restore_nofile(&old);
    assert_true(f.pid > 0);
    char *s = procreact_future_get(&f, &st);
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_string_equal(s, "tight");
    free(s);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- the cost of a fork ---- */

static ProcReact_bool gate_has_next(void *data)
{
    Run *r = data;
    return r->next < r->total;
}

/* The fork handler's work in a child must not grow with the number of
 * futures running: only write ends in flight can keep a reader from seeing
 * end of stream. On 440d6fd it closed every library descriptor, one close()
 * each, in every child: 500 futures in flight made 500 close() calls per
 * fork (quadratic spawning). Counted, not timed: deterministic. */
static void fork_handler_work_is_constant(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    const long total = hard_scaled(500, 50);
    int gate[2];
    assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
    Run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    run_init(r, total);
    r->gate = gate[0];
    r->gate_write = gate[1];
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(gate_has_next, future_next, future_complete, r);
    while (procreact_spawn_next_future(&it))
        ;
    assert_int_equal(it.running_processes, (unsigned)total);

    const long closes_before = closecount();
    pid_t probe = fork();
    assert_true(probe >= 0);
    if (probe == 0) {
        const long made = closecount() - closes_before;
        _exit(made > 200 ? 200 : (int)made);
    }
    int wstatus = 0;
    assert_int_equal(waitpid(probe, &wstatus, 0), probe);
    assert_true(WIFEXITED(wstatus));
    if (WEXITSTATUS(wstatus) > 2)
        print_error("a fork with %ld futures in flight made %d close() calls in the child\n", total,
                    WEXITSTATUS(wstatus));
    assert_true(WEXITSTATUS(wstatus) <= 2);

    close(r->gate_write);
    r->gate_write = -1;
    procreact_fork_in_parallel_buffer_and_wait(&it);
    procreact_destroy_future_iterator(&it);
    close(gate[0]);
    assert_int_equal(r->ok, total);
    assert_int_equal(r->wrong, 0);
    free(r);
    HARD_ASSERT_NO_LEAK(before);
}

/* A run whose items are only counted. */
typedef struct {
    long next, total;
    long completed, wait_fail, other;
} FailRun;

/* ---- the main-loop step when nothing finished ---- */

static ProcReact_bool four_has_next(void *data)
{
    FailRun *r = data;
    return r->next < 4;
}

static pid_t sleeper_next(void *data)
{
    FailRun *r = data;
    r->next++;
    pid_t pid = fork();
    if (pid == 0) {
        hard_sleep_ms(1000);
        _exit(0);
    }
    return pid;
}

static void sleeper_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    FailRun *r = data;
    r->completed++;
    if (status != PROCREACT_STATUS_OK || pid <= 0 || result != 0)
        r->other++;
}

/* 0.1 clients call procreact_complete_all_finished_processes() in a busy
 * loop. With the SIGCHLD handler installed and nothing finished, a call
 * must not make a system call to find that out (on 440d6fd each call
 * polled every child's pidfd: 100,000 calls, 100,000 polls). */
static void main_loop_step_is_cheap(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    FailRun r = {0, 4, 0, 0, 0};
    ProcReact_PidIterator it =
        procreact_initialize_pid_iterator(four_has_next, sleeper_next, NULL, sleeper_complete, &r);
    assert_int_equal(procreact_register_signal_handler(), 0);
    while (procreact_spawn_next_pid(&it))
        ;
    const long waits = waitcount();
    long calls = 0;
    while (calls < 100000 && it.running_processes == 4) {
        procreact_complete_all_finished_processes(&it);
        ++calls;
    }
    const long made = waitcount() - waits;
    if (made > calls / 100)
        print_error("%ld main-loop steps made %ld poll/epoll_wait calls\n", calls, made);
    assert_true(made <= calls / 100); /* still looks now and then (every 100 ms) */
    while (it.running_processes > 0)
        procreact_complete_all_finished_processes(&it);
    assert_int_equal(r.completed, 4);
    assert_int_equal(r.other, 0);
    HARD_ASSERT_NO_LEAK(before);
}

/* ---- waiting itself failing ---- */

static ProcReact_bool fail_has_next(void *data)
{
    FailRun *r = data;
    return r->next < r->total;
}

static ProcReact_Future fail_future_next(void *data)
{
    FailRun *r = data;
    r->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0) {
        hard_sleep_ms(20000); /* killed by the library when the run fails */
        _exit(0);
    }
    return f;
}

static void fail_future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    FailRun *r = data;
    r->completed++;
    if (status == PROCREACT_STATUS_WAIT_FAIL && future->result == NULL)
        r->wait_fail++;
    else
        r->other++;
    free(future->result);
}

/* epoll_wait() failing for good: procreact_buffer() must report every
 * running future and stop, not return "still running" forever (a client's
 * `while (procreact_buffer(&it) > 0);` would spin at full CPU). */
static void future_iterator_wait_fails(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    FailRun r = {0, 3, 0, 0, 0};
    ProcReact_FutureIterator it =
        procreact_initialize_future_iterator(fail_has_next, fail_future_next, fail_future_complete, &r);
    while (procreact_spawn_next_future(&it))
        ;
    assert_int_equal(it.running_processes, 3);
    epollfail_arm(1000000);
    unsigned int spins = 0;
    while (procreact_buffer(&it) > 0 && ++spins < 1000)
        ;
    epollfail_arm(0);
    assert_true(spins < 1000);
    assert_int_equal(it.running_processes, 0);
    assert_int_equal(r.completed, 3);
    assert_int_equal(r.wait_fail, 3);
    assert_int_equal(r.other, 0);
    procreact_destroy_future_iterator(&it);
    HARD_ASSERT_NO_LEAK(before); /* every child killed and reaped */
}

static pid_t fail_pid_next(void *data)
{
    FailRun *r = data;
    r->next++;
    pid_t pid = fork();
    if (pid == 0) {
        hard_sleep_ms(20000);
        _exit(0);
    }
    return pid;
}

static void fail_pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    FailRun *r = data;
    r->completed++;
    if (status == PROCREACT_STATUS_WAIT_FAIL && pid > 0 && result == -1)
        r->wait_fail++;
    else
        r->other++;
}

static void pid_iterator_wait_fails(void **unused)
{
    (void)unused;
    /* Without pidfds (PROCREACT_NO_PIDFD, or valgrind, which lacks
     * pidfd_open) the pid iterator polls by pid: there is no epoll to fail.
     * The future-iterator test above covers that path's epoll. */
    const char *no_pidfd = getenv("PROCREACT_NO_PIDFD");
    const long probe = syscall(SYS_pidfd_open, getpid(), 0);
    if (probe >= 0)
        close((int)probe);
    if ((no_pidfd != NULL && no_pidfd[0] != '\0' && strcmp(no_pidfd, "0") != 0) || probe < 0)
        return;
    HardSnapshot before = hard_snapshot();
    FailRun r = {0, 3, 0, 0, 0};
    ProcReact_PidIterator it =
        procreact_initialize_pid_iterator(fail_has_next, fail_pid_next, NULL, fail_pid_complete, &r);
    while (procreact_spawn_next_pid(&it))
        ;
    assert_int_equal(it.running_processes, 3);
    epollfail_arm(1000000);
    unsigned int spins = 0;
    while (procreact_wait_for_process_to_complete(&it) && ++spins < 1000)
        ;
    epollfail_arm(0);
    assert_true(spins < 1000);
    assert_int_equal(it.running_processes, 0);
    assert_int_equal(r.completed, 3);
    assert_int_equal(r.wait_fail, 3);
    assert_int_equal(r.other, 0);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the exhaustion tests", (unsigned)(getenv("HARDENING_SCALE") ? 900 : 120));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_future_fork_fails),
        cmocka_unit_test(future_iterator_fork_fails),
        cmocka_unit_test(pid_iterator_fork_fails),
        cmocka_unit_test(single_future_out_of_descriptors),
        cmocka_unit_test(future_iterator_out_of_descriptors),
        cmocka_unit_test(pid_iterator_out_of_descriptors),
        cmocka_unit_test(fork_handler_work_is_constant),
        cmocka_unit_test(main_loop_step_is_cheap),
        cmocka_unit_test(future_iterator_wait_fails),
        cmocka_unit_test(pid_iterator_wait_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
