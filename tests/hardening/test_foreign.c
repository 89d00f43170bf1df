/* SPDX-License-Identifier: MIT */
/*
 * Suite 'foreign': children that are not the library's run at the same time
 * as the library's own: children the application forked and waits for
 * itself, and children watched by GLib (g_child_watch_add, dispatched by a
 * main loop in another thread, through GLib's own SIGCHLD handler, which
 * procreact_register_signal_handler() must chain to). The library must never
 * reap them, and each owner must get its child's exact exit status.
 */
#include "hard.h"

#include <glib.h>
#include <pthread.h>

#include <procreact.h>

#define GLIB_CHILDREN 40
#define APP_CHILDREN 40

static int glib_code(int i) { return 10 + i; }
static int app_code(int i) { return 100 + i; }

typedef struct {
    GMainLoop *loop;
    int seen;
    int wrong;
    int status[GLIB_CHILDREN];
} GlibSide;

typedef struct {
    GlibSide *side;
    int index;
} GlibChild;

static void on_glib_child(GPid pid, gint wait_status, gpointer data)
{
    GlibChild *c = data;
    GlibSide *side = c->side;
    side->status[c->index] = wait_status;
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != glib_code(c->index))
        side->wrong++;
    g_spawn_close_pid(pid);
    if (++side->seen == GLIB_CHILDREN)
        g_main_loop_quit(side->loop);
    g_free(c);
}

static void *glib_thread(void *arg)
{
    GlibSide *side = arg;
    g_main_loop_run(side->loop);
    return NULL;
}

/* the library's work, in the main thread, while the foreign children come and go */
typedef struct {
    long next, total, ok, wrong;
} Count;

static ProcReact_bool has_next(void *data)
{
    Count *c = data;
    return c->next < c->total;
}

static pid_t lib_pid_next(void *data)
{
    Count *c = data;
    const long i = c->next++;
    pid_t pid = fork();
    if (pid == 0) {
        hard_sleep_ms(i % 5);
        hard_child_exit(3);
    }
    return pid;
}

static void lib_pid_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Count *c = data;
    if (pid > 0 && status == PROCREACT_STATUS_OK && result == 3)
        c->ok++;
    else
        c->wrong++;
}

static ProcReact_Future lib_future_next(void *data)
{
    Count *c = data;
    c->next++;
    ProcReact_Future f = procreact_initialize_future(procreact_create_string_type());
    if (f.pid == 0)
        hard_child_exit(hard_write_all(f.fd, "lib", 3) == 0 ? 0 : 1);
    return f;
}

static void lib_future_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Count *c = data;
    if (status == PROCREACT_STATUS_OK && future->result != NULL && strcmp(future->result, "lib") == 0)
        c->ok++;
    else
        c->wrong++;
    free(future->result);
}

static void foreign_children_are_left_alone(void **unused)
{
    (void)unused;
    GlibSide side;
    memset(&side, 0, sizeof side);
    side.loop = g_main_loop_new(NULL, FALSE);

    /* GLib's children first, so that GLib installs its SIGCHLD handler ... */
    for (int i = 0; i < GLIB_CHILDREN; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            hard_sleep_ms(5 + (i * 7) % 60);
            hard_child_exit(glib_code(i));
        }
        assert_true(pid > 0);
        GlibChild *c = g_new0(GlibChild, 1);
        c->side = &side;
        c->index = i;
        g_child_watch_add(pid, on_glib_child, c);
    }
    /* ... and the library's handler is installed over it, and chains to it */
    assert_int_equal(procreact_register_signal_handler(), 0);
    pthread_t glib;
    assert_int_equal(pthread_create(&glib, NULL, glib_thread, &side), 0);

    /* the application's own children, waited for at the very end */
    pid_t app[APP_CHILDREN];
    for (int i = 0; i < APP_CHILDREN; ++i) {
        app[i] = fork();
        if (app[i] == 0) {
            hard_sleep_ms((i * 13) % 40);
            hard_child_exit(app_code(i));
        }
        assert_true(app[i] > 0);
    }

    /* the library, meanwhile, in every style */
    long lib_ok = 0, lib_wrong = 0;
    const long rounds = hard_scaled(20, 4);
    for (long r = 0; r < rounds; ++r) {
        Count pc = { 0, 30, 0, 0 };
        ProcReact_PidIterator pit = procreact_initialize_pid_iterator(has_next, lib_pid_next, NULL, lib_pid_complete, &pc);
        if (r % 3 == 0) {
            procreact_fork_in_parallel_and_wait(&pit);
        } else if (r % 3 == 1) {
            procreact_fork_and_wait_in_parallel_limit(&pit, 4);
        } else {
            while (pc.ok + pc.wrong < pc.total) {
                while (pit.running_processes < 6 && procreact_spawn_next_pid(&pit))
                    ;
                procreact_complete_all_finished_processes(&pit);
                hard_sleep_ms(1);
            }
        }
        Count fc = { 0, 30, 0, 0 };
        ProcReact_FutureIterator fit =
            procreact_initialize_future_iterator(has_next, lib_future_next, lib_future_complete, &fc);
        procreact_fork_buffer_and_wait_in_parallel_limit(&fit, (unsigned)(r % 5));
        procreact_destroy_future_iterator(&fit);
        lib_ok += pc.ok + fc.ok;
        lib_wrong += pc.wrong + fc.wrong + (pc.ok != pc.total) + (fc.ok != fc.total);
    }

    pthread_join(glib, NULL);
    g_main_loop_unref(side.loop);

    int app_wrong = 0;
    for (int i = 0; i < APP_CHILDREN; ++i) {
        int status = 0;
        pid_t r;
        do
            r = waitpid(app[i], &status, 0);
        while (r < 0 && errno == EINTR);
        if (r != app[i] || !WIFEXITED(status) || WEXITSTATUS(status) != app_code(i)) {
            print_error("application child %d: waitpid %d, status 0x%x\n", i, (int)r, status);
            app_wrong++;
        }
    }
    print_message("foreign: glib %d/%d right, application %d/%d right, library %ld right, %ld wrong\n",
                  side.seen - side.wrong, GLIB_CHILDREN, APP_CHILDREN - app_wrong, APP_CHILDREN, lib_ok, lib_wrong);
    assert_int_equal(side.seen, GLIB_CHILDREN);
    assert_int_equal(side.wrong, 0);
    assert_int_equal(app_wrong, 0);
    assert_int_equal(lib_wrong, 0);
    assert_true(hard_no_children());
}

int main(void)
{
    hard_watchdog("the foreign-children test", (unsigned)(getenv("HARDENING_SCALE") ? 900 : 120));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(foreign_children_are_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
