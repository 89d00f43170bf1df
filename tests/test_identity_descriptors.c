/* SPDX-License-Identifier: MIT */
/*
 * Identity (issue "One collection engine", defect 6): what a forked child
 * holds of the library while collections run. No write end but its own,
 * every other descriptor of the library close-on-exec, and after exec
 * exactly what the application gave it.
 *
 * Each scenario runs in a forked sub-process with an alarm (t_isolated() in
 * test.h): it returns 0 when every check holds, or the number of the first
 * check that failed.
 */
#include "test.h"

#include <procreact_control.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_types.h>

/* ------------------------ 6. what a forked child holds of the library */

/* While collections run (a future iterator, a pid iterator with its
 * descriptor, a waiting future), a forked future's child holds no write end
 * but its own, and every other descriptor of the library it inherited is
 * close-on-exec: after exec it holds exactly what the application gave it. */
static ProcReact_bool never(void *data)
{
    (void)data;
    return 0;
}

static FdSet g_before;
static unsigned char g_kept_by_exec[1024];

static int forked_child_descriptors(void)
{
    ProcReact_FutureIterator fit = procreact_initialize_future_iterator(NULL, NULL, NULL, NULL);
    ProcReact_PidIterator pit = procreact_initialize_pid_iterator(never, NULL, NULL, NULL, NULL);
    ProcReact_Future waiting, probe;
    ProcReact_Status st;
    char *report;
    int i, app_fd;
    t_fd_snapshot(&g_before);
    for (i = 0; i < 1024; ++i)
        g_kept_by_exec[i] = g_before.open[i] && (fcntl(i, F_GETFD) & FD_CLOEXEC) == 0;
    for (i = 0; i < 3; ++i) {
        ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
        if (f.pid == 0) {
            t_sleep_ms(2000);
            _exit(0);
        }
        CHECK(1, procreact_future_iterator_add(&fit, &f) == 0);
    }
    CHECK(2, procreact_future_iterator_fd(&fit) >= 0);
    CHECK(3, procreact_pid_iterator_fd(&pit) >= 0);
    waiting = procreact_initialize_future(procreact_create_string_type());
    if (waiting.pid == 0) {
        t_sleep_ms(2000);
        _exit(0);
    }
    app_fd = open("/dev/null", O_RDONLY); /* the application's own: stays */
    CHECK(4, app_fd > 2);
    probe = procreact_initialize_future(procreact_create_string_type());
    if (probe.pid == 0) {
        /* Before exec: only its own write end; the library's others are close-on-exec. */
        int fd, bad = 0;
        char cmd[128];
        for (fd = 3; fd < 1024; ++fd) {
            if (fd == probe.fd || fd == app_fd || !t_fd_is_open(fd))
                continue;
            if (fd < 1024 && g_before.open[fd])
                continue; /* the application's (the test harness's) own */
            if (t_fd_is_pipe_writer(fd) || (fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0)
                bad = 1;
        }
        /* After exec: list what is left. */
        snprintf(cmd, sizeof cmd, "%s; ls /proc/self/fd | tr '\\n' ' '", bad ? "echo BAD" : "true");
        dup2(probe.fd, 1);
        close(probe.fd);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    report = (char *)procreact_future_get(&probe, &st);
    CHECK(5, st == PROCREACT_STATUS_OK && report != NULL);
    CHECK(6, strstr(report, "BAD") == NULL);
    {
        /* What the application had open across exec, its new descriptor,
         * and ls's own directory: nothing else. */
        int others = 0, seen_app = 0, fd;
        char *token = strtok(report, " ");
        for (; token != NULL; token = strtok(NULL, " ")) {
            fd = atoi(token);
            if (fd == app_fd)
                seen_app = 1;
            else if (fd < 0 || fd >= 1024 || !g_kept_by_exec[fd])
                ++others;
        }
        CHECK(7, seen_app);
        CHECK(8, others == 1);
    }
    free(report);
    close(app_fd);
    procreact_destroy_future(&waiting);
    procreact_destroy_future_iterator(&fit);
    procreact_destroy_pid_iterator(&pit);
    CHECK(9, t_no_children());
    return 0;
}

static void test_forked_child_descriptors(void **state)
{
    (void)state;
    assert_int_equal(isolated(forked_child_descriptors, 20), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forked_child_descriptors),
    };
    return cmocka_run_group_tests_name("identity_descriptors", tests, NULL, NULL);
}
