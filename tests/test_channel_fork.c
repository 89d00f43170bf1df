/* SPDX-License-Identifier: MIT */
/*
 * Channels and fork(): the work per fork does not grow with the channels
 * that are open, and a channel's own child holds no copy of its parent's end.
 */
#include "channel_test.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <procreact_future.h>
#include <procreact_types.h>

enum { kOpenChannels = 40 };

/* In a forked child: ends as a program (no leak check sees the exit). */
static void child_done(void)
{
    execl("/bin/true", "true", (char *)NULL);
    _exit(127);
}

/* A forked child with a channel that waits for the end of its stream. */
static ProcReact_Future waiting_child(ProcReact_Channel **parent_end)
{
    ProcReact_Channel *child = NULL;
    ProcReact_Future future =
        procreact_initialize_future_with_channel(procreact_create_string_type(), PROCREACT_CHANNEL_FRAMED, &child);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        ProcReact_Message *m;
        while (procreact_channel_recv(child, &m, -1) == 0)
            procreact_message_free(m);
        child_done();
    }
    *parent_end = procreact_future_channel(&future);
    assert_non_null(*parent_end);
    return future;
}

static void finish_child(ProcReact_Future *future, ProcReact_Channel *ch)
{
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    assert_int_equal(procreact_channel_shutdown(ch), 0);
    free(procreact_future_get(future, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);
    procreact_channel_free(ch);
}

/* A plain fork() while 40 channels are open: the fork handler leaves
 * their parent ends alone (no work per open channel), so the child still
 * has every one of them, close-on-exec. */
static void test_fork_does_no_work_per_channel(void **state)
{
    ProcReact_Future futures[kOpenChannels];
    ProcReact_Channel *ends[kOpenChannels];
    int i, status = 0;
    pid_t pid;
    (void)state;
    for (i = 0; i < kOpenChannels; ++i)
        futures[i] = waiting_child(&ends[i]);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int kept = 0;
        for (i = 0; i < kOpenChannels; ++i)
            if (fcntl(procreact_channel_fd(ends[i]), F_GETFD) == FD_CLOEXEC)
                ++kept;
        if (kept != kOpenChannels)
            execl("/bin/false", "false", (char *)NULL);
        child_done();
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    for (i = 0; i < kOpenChannels; ++i)
        finish_child(&futures[i], ends[i]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0); /* 1: the handler closed parent ends */
}

/* The channel's own child holds exactly one socket, its own end: were it to
 * keep its parent's end, it would never read the end of the stream when
 * its parent dies. The verdict goes through the result pipe. */
static void test_child_holds_only_its_own_end(void **state)
{
    ProcReact_Channel *child = NULL, *ch;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_Future future;
    char *result;
    (void)state;
    future = procreact_initialize_future_with_channel(procreact_create_string_type(), PROCREACT_CHANNEL_FRAMED,
                                                      &child);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        int fd, others = 0;
        for (fd = 0; fd < 1024; ++fd) {
            struct stat st;
            if (fd != procreact_channel_fd(child) && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
                ++others;
        }
        if (write(future.fd, others == 0 ? "alone" : "other", 5) != 5)
            _exit(3);
        child_done();
    }
    ch = procreact_future_channel(&future);
    assert_non_null(ch);
    result = procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(result, "alone");
    free(result);
    procreact_channel_free(ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fork_does_no_work_per_channel, t_teardown_no_children),
        cmocka_unit_test_teardown(test_child_holds_only_its_own_end, t_teardown_no_children),
    };
    return cmocka_run_group_tests_name("channel_fork", tests, NULL, NULL);
}
