/* SPDX-License-Identifier: MIT */
/*
 * Identity (issue "One collection engine"): one pid for two things. A pid
 * that next() returns twice, in a run and by hand (defect 2), and a pid
 * that the kernel hands on while the library watches the process that had
 * it (defect 8: needs pidfds and root, left out where it cannot run).
 *
 * Each scenario runs in a forked sub-process with an alarm (t_isolated() in
 * test.h): it returns 0 when every check holds, or the number of the first
 * check that failed.
 */
#include "identity_test.h"

#include <sys/syscall.h>

#include <procreact_future.h>
#include <procreact_pid_iterator.h>
#include <procreact_types.h>

/* --------------------------------------- 2. a pid returned twice */

static pid_t g_dup_pid;
static int g_dup_asked, g_dup_ok, g_dup_failed, g_dup_other;

static ProcReact_bool dup_has_next(void *data)
{
    (void)data;
    return g_dup_asked < 2;
}

static pid_t dup_next(void *data)
{
    (void)data;
    if (g_dup_asked++ == 0)
        g_dup_pid = sleeper(100, 5);
    return g_dup_pid; /* the same child, twice */
}

static void dup_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    (void)data;
    if (pid != g_dup_pid)
        g_dup_other++;
    else if (status == PROCREACT_STATUS_OK && result == 5)
        g_dup_ok++;
    else if (status != PROCREACT_STATUS_OK)
        g_dup_failed++;
    else
        g_dup_other++;
}

static int duplicate_pid(int by_hand)
{
    ProcReact_PidIterator it =
        procreact_initialize_pid_iterator(dup_has_next, dup_next, procreact_retrieve_exit_status, dup_complete, NULL);
    g_dup_asked = g_dup_ok = g_dup_failed = g_dup_other = 0;
    if (by_hand) {
        while (procreact_spawn_next_pid(&it))
            ;
        while (procreact_wait_for_process_to_complete(&it))
            ;
    } else {
        procreact_fork_in_parallel_and_wait(&it);
    }
    CHECK(1, g_dup_ok == 1);     /* the real child: one OK completion */
    CHECK(2, g_dup_failed == 1); /* the duplicate: one failure */
    CHECK(3, g_dup_other == 0);
    CHECK(4, it.running_processes == 0);
    CHECK(5, t_no_children());
    return 0;
}

static int duplicate_pid_run(void)
{
    return duplicate_pid(0);
}

static int duplicate_pid_by_hand(void)
{
    return duplicate_pid(1);
}

static void test_duplicate_pid_in_run(void **state)
{
    (void)state;
    assert_int_equal(isolated(duplicate_pid_run, 10), 0);
}

static void test_duplicate_pid_by_hand(void **state)
{
    (void)state;
    assert_int_equal(isolated(duplicate_pid_by_hand, 10), 0);
}

/* ----------------------- 8. a pid reused while the library watches it */

/* Makes the next fork() of this (single-threaded) process get @p pid,
 * through /proc/sys/kernel/ns_last_pid (root only). */
static int next_pid_will_be(pid_t pid)
{
    char text[32];
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
    int n, ok;
    if (fd < 0)
        return 0;
    n = snprintf(text, sizeof text, "%d", (int)pid - 1);
    ok = write(fd, text, (size_t)n) == n;
    close(fd);
    return ok;
}

/* The application reaps a running future's child behind the library's
 * back, and the kernel hands its pid to a new child of the application.
 * Destroying the future must not kill or reap that impostor. */
static int reused_pid(void)
{
    int attempt;
    for (attempt = 0; attempt < 10; ++attempt) {
        ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
        pid_t old, impostor;
        int wstatus;
        if (f.pid == 0) {
            t_sleep_ms(50);
            _exit(0);
        }
        old = f.pid;
        CHECK(1, t_reap(old) != -1); /* the application steals the child */
        CHECK(2, next_pid_will_be(old));
        impostor = sleeper(400, 9);
        if (impostor != old) {
            /* Another process of the machine took the pid first: again. */
            t_kill_and_reap(impostor);
            procreact_destroy_future(&f);
            continue;
        }
        procreact_destroy_future(&f);
        wstatus = t_reap(impostor);
        CHECK(3, wstatus != -1);                                   /* not reaped by the library */
        CHECK(4, WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 9); /* not killed either */
        return 0;
    }
    return 90; /* the kernel never gave the pid back: cannot test here */
}

static void test_reused_pid_is_left_alone(void **state)
{
    (void)state;
    assert_int_equal(isolated(reused_pid, 10), 0);
}

/* Without pidfds (fallback mode, or a kernel or valgrind without
 * pidfd_open) there is no handle that outlives a stolen pid: the documented
 * limit of the fallback. Steering pid reuse needs root. */
static int have_pidfds(void)
{
    const long fd = syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        return 0;
    close((int)fd);
    return !t_fallback_mode();
}

static int can_test_reused_pid(void)
{
    return have_pidfds() && access("/proc/sys/kernel/ns_last_pid", W_OK) == 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_pid_in_run),
        cmocka_unit_test(test_duplicate_pid_by_hand),
        cmocka_unit_test(test_reused_pid_is_left_alone), /* last: left out where it cannot run */
    };
    const size_t count = sizeof tests / sizeof tests[0];
    if (!can_test_reused_pid()) {
        printf("# test_reused_pid_is_left_alone not run: %s\n",
               !have_pidfds() ? "no pidfds (fallback mode)" : "ns_last_pid is not writable (not root)");
        return _cmocka_run_group_tests("identity_pids", tests, count - 1, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
