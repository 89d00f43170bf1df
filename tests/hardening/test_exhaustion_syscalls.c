/* SPDX-License-Identifier: MIT */
/*
 * Suite 'exhaustion': system calls counted or made to fail by the
 * test-only interposer in forkfail.c. The fork handler's work in a child
 * does not grow with the futures in flight, a main-loop step with nothing
 * finished makes no system call, and poll() or epoll_wait() failing for
 * good ends a run instead of spinning.
 */
#include "exhaustion_run.h"

#include <fcntl.h>
#include <sys/syscall.h>

#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>

#include "forkfail.h"

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

/* After the epoll failures: the wait ended in fewer than 1000 spins and
 * every one of the three children completed with WAIT_FAIL. */
static void assert_wait_failed_three(const FailRun *r, unsigned int spins, unsigned int running)
{
    assert_true(spins < 1000);
    assert_int_equal(running, 0);
    assert_int_equal(r->completed, 3);
    assert_int_equal(r->wait_fail, 3);
    assert_int_equal(r->other, 0);
}

/* Counts a next() and forks a child that sleeps @p ms and exits 0. */
static pid_t fork_sleeper(FailRun *r, int ms)
{
    r->next++;
    pid_t pid = fork();
    if (pid == 0) {
        hard_sleep_ms(ms);
        _exit(0);
    }
    return pid;
}

static pid_t sleeper_next(void *data) { return fork_sleeper(data, 1000); }

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
    assert_wait_failed_three(&r, spins, it.running_processes);
    procreact_destroy_future_iterator(&it);
    HARD_ASSERT_NO_LEAK(before); /* every child killed and reaped */
}

static pid_t fail_pid_next(void *data) { return fork_sleeper(data, 20000); }

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
    assert_wait_failed_three(&r, spins, it.running_processes);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the exhaustion tests", (unsigned)(getenv("HARDENING_SCALE") ? 900 : 120));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fork_handler_work_is_constant),
        cmocka_unit_test(main_loop_step_is_cheap),
        cmocka_unit_test(future_iterator_wait_fails),
        cmocka_unit_test(pid_iterator_wait_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
