/* SPDX-License-Identifier: MIT */
/*
 * Exits watched through the exit ring (src/os/exit_ring.hpp): a future
 * iterator driven by a main loop (its descriptor, non-blocking steps) holds
 * no descriptor per child where the kernel has io_uring's waitid, and still
 * finds every exit: with a child of the application's own left unreaped
 * beside it (never touched), after the thread that spawned the children has
 * gone (its waits cancelled by the kernel), with the library's launcher
 * threads spawning, with more exits at once than the ring holds, and with
 * SIGCHLD ignored.
 *
 * Run as `exit_ring` (the ring where the kernel has it), `exit_ring-fallback`
 * (PROCREACT_NO_PIDFD: neither pidfds nor the ring) and `exit_ring-pidfd`
 * (PROCREACT_NO_EXIT_RING: a pidfd per child, the path the ring replaces).
 */
#include "test.h"

#include <linux/io_uring.h>
#include <pthread.h>
#include <sys/syscall.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#define MAX_JOBS 320

typedef struct {
    int total, started, completed, right;
    const char *seconds; /* each job runs `sleep SECONDS` */
    int codes[MAX_JOBS];
} Jobs;

static ProcReact_bool jobs_has_next(void *data)
{
    const Jobs *j = data;
    return j->started < j->total;
}

/* Job k runs `sh -c 'sleep S; exit k%7'`: its exit code names it. */
static ProcReact_Future jobs_next(void *data)
{
    Jobs *j = data;
    char script[64];
    const int k = j->started++;
    snprintf(script, sizeof script, "sleep %s; exit %d", j->seconds, k % 7);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    procreact_command_set_stdout(command, PROCREACT_OUTPUT_INHERIT, -1); /* no pipe: the exit alone is watched */
    ProcReact_Future future = procreact_command_spawn(command, procreact_create_output_type());
    procreact_command_free(command);
    return future;
}

static void jobs_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Jobs *j = data;
    ProcReact_ExitInfo info;
    j->completed++;
    if (status == PROCREACT_STATUS_OK && procreact_future_info(future, &info) == 0 && info.exited)
        j->codes[info.exit_code]++;
    ProcReact_BytesState *bytes = future->result;
    if (bytes != NULL)
        free(bytes->data);
    free(bytes);
}

static void jobs_init(Jobs *j, int total, const char *seconds)
{
    memset(j, 0, sizeof *j);
    j->total = total;
    j->seconds = seconds;
}

/* Every job completed once, with the exit code it was given. */
static void assert_all_right(const Jobs *j)
{
    assert_int_equal(j->completed, j->total);
    for (int code = 0; code < 7; code++) {
        int expected = 0;
        for (int k = 0; k < j->total; k++)
            expected += k % 7 == code;
        assert_int_equal(j->codes[code], expected);
    }
}

/* A main loop's way: poll() the descriptor, then a non-blocking step, until
 * nothing is left; fails on a wait of more than 10 s (a lost exit). */
static void drive(ProcReact_FutureIterator *it, unsigned limit)
{
    const int fd = procreact_future_iterator_fd(it);
    assert_true(fd >= 0);
    while (procreact_future_iterator_step(it, limit) > 0) {
        struct pollfd p = {fd, POLLIN, 0};
        int ready;
        do
            ready = poll(&p, 1, 10000);
        while (ready < 0 && errno == EINTR);
        assert_true(ready > 0);
    }
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Whether this kernel lets a process have the ring: io_uring allowed, with
 * IORING_OP_WAITID (50) among its operations. */
static int kernel_has_ring(void)
{
    struct io_uring_params params;
    unsigned char buffer[sizeof(struct io_uring_probe) + 51 * sizeof(struct io_uring_probe_op)];
    struct io_uring_probe *probe = (struct io_uring_probe *)buffer;
    memset(&params, 0, sizeof params);
    memset(buffer, 0, sizeof buffer);
    const int fd = (int)syscall(SYS_io_uring_setup, 4, &params);
    if (fd < 0)
        return 0;
    const int ok = syscall(SYS_io_uring_register, fd, IORING_REGISTER_PROBE, probe, 51) == 0 && probe->ops_len > 50 &&
                   (probe->ops[50].flags & IO_URING_OP_SUPPORTED) != 0;
    close(fd);
    return ok;
}

/* Whether this process can have pidfds at all (valgrind 3.19, say, does
 * not know pidfd_open: the library then watches exits without them). */
static int pidfds_work(void)
{
    const int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* The parent's open descriptors while @p n children (each `sleep 0.3`)
 * run from a main loop's iterator, which then completes them all. */
static int fds_in_flight(int n)
{
    static Jobs j;
    jobs_init(&j, n, "0.3");
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    assert_true(procreact_future_iterator_fd(&it) >= 0);
    assert_int_equal(procreact_future_iterator_step(&it, 8), 1);
    assert_int_equal(j.started, n);
    const int count = t_count_fds();
    drive(&it, 8);
    procreact_destroy_future_iterator(&it);
    assert_all_right(&j);
    return count;
}

/* Eight children in flight hold no descriptor of the parent's each: with
 * the ring (and without pidfds at all) the count is that of one child; with
 * pidfds (the ring switched off, or none in the kernel) it grows by one
 * per child. */
static void test_no_descriptor_per_child(void **state)
{
    (void)state;
    const int pidfds =
        !t_fallback_mode() && pidfds_work() && (env_set("PROCREACT_NO_EXIT_RING") || !kernel_has_ring());
    const int with_one = fds_in_flight(1);
    const int with_eight = fds_in_flight(8);
    if (pidfds)
        assert_int_equal(with_eight - with_one, 7);
    else
        assert_int_equal(with_eight, with_one);
    assert_true(t_no_children());
}

/* A child of the application's own exits first and stays unreaped: the
 * iterator's children are all found, and that child is still there for its
 * owner to reap. */
static void test_application_child_untouched(void **state)
{
    static Jobs j;
    (void)state;
    const pid_t mine = t_fork_exiting(3);
    assert_true(mine > 0);
    while (!t_child_has_exited(mine))
        t_sleep_ms(5);
    jobs_init(&j, t_under_valgrind() ? 12 : 40, "0");
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    drive(&it, 8);
    procreact_destroy_future_iterator(&it);
    assert_all_right(&j);
    const int wstatus = t_reap(mine);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 3);
    assert_true(t_no_children());
}

static void *start_and_leave(void *arg)
{
    ProcReact_FutureIterator *it = arg;
    const Jobs *j = it->data;
    if (procreact_future_iterator_fd(it) < 0 || procreact_future_iterator_step(it, 4) != 1 || j->started != 4)
        return arg; /* a failure, reported by the joiner */
    return NULL;
}

/* The children are spawned (and their exits watched) by a thread that then
 * ends: their exits are still found, from the thread that goes on. */
static void test_spawning_thread_gone(void **state)
{
    static Jobs j;
    static ProcReact_FutureIterator it;
    pthread_t starter;
    void *failed = NULL;
    (void)state;
    jobs_init(&j, 8, "0.2");
    it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    assert_int_equal(pthread_create(&starter, NULL, start_and_leave, &it), 0);
    assert_int_equal(pthread_join(starter, &failed), 0);
    assert_null(failed);
    drive(&it, 4);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(j.completed, 8);
    assert_true(t_no_children());
}

/* Children spawned by the library's launcher threads (which end when idle,
 * and whose waits would end with them) have their exits watched from the
 * thread that drives: a main loop's iterator with four spawning threads
 * completes every job. */
static void test_launcher_threads(void **state)
{
    static Jobs j;
    (void)state;
    jobs_init(&j, t_under_valgrind() ? 12 : 48, "0.01");
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    assert_int_equal(procreact_future_iterator_set_spawn_threads(&it, 4), 0);
    drive(&it, 8);
    procreact_destroy_future_iterator(&it);
    assert_all_right(&j);
    assert_true(t_no_children());
}

/* More exits at once than the ring's completion queue holds (256): 300
 * children spawned in one fill, each done within milliseconds, pile up
 * while the fill goes on; the kernel keeps what does not fit and every
 * exit is still found. */
static void test_more_exits_than_the_ring_holds(void **state)
{
    static Jobs j;
    (void)state;
    jobs_init(&j, 300, "0");
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    drive(&it, 300);
    procreact_destroy_future_iterator(&it);
    assert_all_right(&j);
    assert_true(t_no_children());
}

/* With SIGCHLD ignored the kernel reaps the children itself: every job
 * still completes (what became of it unknown), and nothing hangs. */
static void test_sigchld_ignored(void **state)
{
    static Jobs j;
    struct sigaction ignore, saved;
    (void)state;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    assert_int_equal(sigaction(SIGCHLD, &ignore, &saved), 0);
    jobs_init(&j, 8, "0.05");
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(jobs_has_next, jobs_next, jobs_complete, &j);
    drive(&it, 4);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(sigaction(SIGCHLD, &saved, NULL), 0);
    assert_int_equal(j.completed, 8);
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_no_descriptor_per_child),
        T_TEST(test_application_child_untouched),
        T_TEST(test_spawning_thread_gone),
        T_TEST(test_launcher_threads),
        T_TEST(test_more_exits_than_the_ring_holds),
        T_TEST(test_sigchld_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
