/* SPDX-License-Identifier: MIT */
/*
 * A blocking get in a process that has only ever had one thread: it makes
 * no waker descriptor (and reads and reaps without a poll() first), yet a
 * cancellation still reaches it, from its own type's callback and from a
 * thread that callback starts. The order of the tests matters: the process
 * stays single-threaded until the last one starts a thread.
 */
#include "test.h"

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#include <pthread.h>
#include <sys/single_threaded.h>

/* What the test type's append does on its first call. */
enum Action { COUNT_EVENTFDS, CANCEL_HERE, CANCEL_FROM_THREAD };

static ProcReact_Future g_future;
static enum Action g_action;
static int g_acted;
static int g_eventfds = -1;
static int g_cancel_rc = 99;
static pthread_t g_thread;

static void *cancel_later(void *arg)
{
    (void)arg;
    t_sleep_ms(100);
    g_cancel_rc = procreact_future_cancel(&g_future);
    return NULL;
}

static void *init_state(void)
{
    return NULL;
}

static ssize_t append_and_act(ProcReact_Type *type, void *state, int fd)
{
    char buf[256];
    ssize_t n;
    (void)type;
    (void)state;
    do
        n = read(fd, buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n > 0 && !g_acted) {
        g_acted = 1;
        switch (g_action) {
        case COUNT_EVENTFDS:
            g_eventfds = t_count_fds_of("eventfd");
            break;
        case CANCEL_HERE:
            g_cancel_rc = procreact_future_cancel(&g_future);
            break;
        case CANCEL_FROM_THREAD:
            assert_int_equal(pthread_create(&g_thread, NULL, cancel_later, NULL), 0);
            break;
        }
    }
    return n;
}

static void *finalize_waiting(void *state, pid_t pid, ProcReact_Status *status)
{
    int wstatus;
    (void)state;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    *status = PROCREACT_STATUS_OK;
    return NULL;
}

/* A program that says something, then runs until stopped. */
static void start(enum Action action, const char *script)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Type type = {init_state, append_and_act, finalize_waiting, '\0'};
    assert_non_null(command);
    g_future = procreact_command_spawn(command, type);
    procreact_command_free(command);
    assert_true(g_future.pid > 0);
    g_action = action;
    g_acted = 0;
    g_cancel_rc = 99;
}

static void test_no_waker_descriptor(void **state)
{
    ProcReact_Status status;
    char *out;
    (void)state;
    assert_true(__libc_single_threaded);
    start(COUNT_EVENTFDS, "echo hello; sleep 0.2");
    procreact_future_get(&g_future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(g_eventfds, 0);

    /* A built-in type: read and reaped with no poll() needed, and right. */
    {
        const char *argv[] = {"sh", "-c", "printf 'a b'; sleep 0.1; printf ' c'", NULL};
        ProcReact_Command *command = procreact_command_new(argv);
        ProcReact_Future future;
        ProcReact_ExitInfo info;
        assert_non_null(command);
        future = procreact_command_spawn(command, procreact_create_string_type());
        procreact_command_free(command);
        out = procreact_future_get_with_info(&future, &status, &info);
        assert_non_null(out);
        assert_string_equal(out, "a b c");
        assert_int_equal(status, PROCREACT_STATUS_OK);
        assert_int_equal(info.exit_code, 0);
        assert_true(info.exited);
        assert_true(info.wall_time >= 0.09);
        free(out);
    }
}

static void test_cancel_from_its_own_callback(void **state)
{
    ProcReact_Status status;
    ProcReact_ExitInfo info;
    double start_time;
    (void)state;
    assert_true(__libc_single_threaded);
    start(CANCEL_HERE, "echo hello; exec sleep 30");
    start_time = t_now();
    procreact_future_get_with_info(&g_future, &status, &info);
    assert_int_equal(g_cancel_rc, 0);
    assert_true(info.flags & PROCREACT_EXIT_CANCELLED);
    assert_true(t_now() - start_time < 10.0);
}

static void test_cancel_from_a_thread_made_meanwhile(void **state)
{
    ProcReact_Status status;
    ProcReact_ExitInfo info;
    double start_time;
    (void)state;
    assert_true(__libc_single_threaded); /* until the callback starts one */
    start(CANCEL_FROM_THREAD, "echo hello; exec sleep 30");
    start_time = t_now();
    procreact_future_get_with_info(&g_future, &status, &info);
    pthread_join(g_thread, NULL);
    assert_int_equal(g_cancel_rc, 0);
    assert_true(info.flags & PROCREACT_EXIT_CANCELLED);
    assert_true(t_now() - start_time < 10.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_no_waker_descriptor),
        T_TEST(test_cancel_from_its_own_callback),
        T_TEST(test_cancel_from_a_thread_made_meanwhile),
    };
    return cmocka_run_group_tests_name("get_threads", tests, NULL, NULL);
}
