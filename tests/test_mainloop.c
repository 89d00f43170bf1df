/* SPDX-License-Identifier: MIT */
/*
 * A collection driven from real main loops through its descriptor: GLib
 * (g_unix_fd_add) and libuv (uv_poll_t). The application runs children of
 * its own alongside (a GLib child watch, uv_spawn, a plain fork it waits for
 * itself), and each side must see exactly its own children.
 */
#include "test.h"

#include <glib-unix.h>
#include <glib.h>
#include <uv.h>

#include <procreact_channel.h>
#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future_iterator.h>
#include <procreact_pid_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

#define ITEMS 24
#define LIMIT 4

typedef struct {
    int spawned, completed, wrong, steps;
    int running_max;
    int active;
    int pid_spawned, pid_completed, pid_wrong, pid_active;
    ProcReact_FutureIterator it;
    ProcReact_PidIterator pit;
} Work;

static ProcReact_bool w_has_next(void *data)
{
    return ((Work *)data)->spawned < ITEMS;
}

static ProcReact_Future w_next(void *data)
{
    Work *w = data;
    char script[64];
    const char *argv[] = {"sh", "-c", script, NULL};
    ProcReact_Command *command;
    ProcReact_Future future;
    int index = w->spawned++;
    snprintf(script, sizeof script, "sleep 0.0%d; echo %d; exit %d", index % 7, index, index % 5);
    command = procreact_command_new(argv);
    future = procreact_command_spawn(command, procreact_create_output_type());
    procreact_command_free(command);
    return future;
}

static void w_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Work *w = data;
    ProcReact_ExitInfo info;
    ProcReact_BytesState *out = future->result;
    int index;
    (void)status;
    w->completed++;
    if (procreact_future_info(future, &info) != 0 || out == NULL || out->data_size == 0) {
        w->wrong++;
    } else {
        char text[16] = {0};
        memcpy(text, out->data, out->data_size < sizeof text - 1 ? out->data_size : sizeof text - 1);
        index = atoi(text); /* the output is not NUL-terminated */
        if (info.exit_code != index % 5)
            w->wrong++;
    }
    if (out != NULL) {
        free(out->data);
        free(out);
    }
}

static ProcReact_bool p_has_next(void *data)
{
    return ((Work *)data)->pid_spawned < 6;
}

static pid_t p_next(void *data)
{
    Work *w = data;
    int code = 10 + w->pid_spawned;
    pid_t pid = t_fork_sleeper(30, code);
    w->pid_spawned++;
    return pid;
}

static void p_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    Work *w = data;
    ProcReact_ExitInfo info;
    (void)pid;
    w->pid_completed++;
    if (status != PROCREACT_STATUS_OK || result < 10 || result > 15 || procreact_pid_info(pid, &info) != 0 ||
        info.exit_code != result)
        w->pid_wrong++;
}

static void work_init(Work *w)
{
    memset(w, 0, sizeof *w);
    w->it = procreact_initialize_future_iterator(w_has_next, w_next, w_complete, w);
    w->pit = procreact_initialize_pid_iterator(p_has_next, p_next, procreact_retrieve_exit_status, p_complete, w);
    w->active = procreact_future_iterator_step(&w->it, LIMIT);
    w->pid_active = procreact_pid_iterator_step(&w->pit, 2);
}

static void work_check(Work *w)
{
    assert_int_equal(w->completed, ITEMS);
    assert_int_equal(w->wrong, 0);
    assert_true(w->running_max <= LIMIT);
    assert_int_equal(w->pid_completed, 6);
    assert_int_equal(w->pid_wrong, 0);
    procreact_destroy_future_iterator(&w->it);
    procreact_destroy_pid_iterator(&w->pit);
}

/* The application's own child, forked and waited for by the application. */
static pid_t own_fork(int code)
{
    pid_t pid = t_fork_exiting(code);
    assert_true(pid > 0);
    return pid;
}

static void assert_own_exit(pid_t pid, int code)
{
    int wstatus = 0;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), code);
}

/* ------------------------------------------------------------------ GLib */

typedef struct {
    GMainLoop *loop;
    Work work;
    int watch_status;
    int watch_done;
    int timed_out;
} GlibRun;

static void glib_maybe_quit(GlibRun *g)
{
    if (!g->work.active && !g->work.pid_active && g->watch_done)
        g_main_loop_quit(g->loop);
}

static gboolean glib_on_futures(gint fd, GIOCondition condition, gpointer data)
{
    GlibRun *g = data;
    (void)fd;
    (void)condition;
    g->work.steps++;
    g->work.active = procreact_future_iterator_step(&g->work.it, LIMIT);
    if ((int)g->work.it.running_processes > g->work.running_max)
        g->work.running_max = (int)g->work.it.running_processes;
    glib_maybe_quit(g);
    return g->work.active ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean glib_on_pids(gint fd, GIOCondition condition, gpointer data)
{
    GlibRun *g = data;
    (void)fd;
    (void)condition;
    g->work.pid_active = procreact_pid_iterator_step(&g->work.pit, 2);
    glib_maybe_quit(g);
    return g->work.pid_active ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void glib_on_child(GPid pid, gint status, gpointer data)
{
    GlibRun *g = data;
    g->watch_status = status;
    g->watch_done = 1;
    g_spawn_close_pid(pid);
    glib_maybe_quit(g);
}

static gboolean glib_on_timeout(gpointer data)
{
    GlibRun *g = data;
    g->timed_out = 1;
    g_main_loop_quit(g->loop);
    return G_SOURCE_REMOVE;
}

static void test_glib_main_loop(void **state)
{
    GlibRun g;
    gchar *argv[] = {(gchar *)"sh", (gchar *)"-c", (gchar *)"sleep 0.2; exit 42", NULL};
    GPid app_child;
    GError *error = NULL;
    pid_t forked;
    (void)state;
    memset(&g, 0, sizeof g);
    g.loop = g_main_loop_new(NULL, FALSE);
    forked = own_fork(7);
    assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH, NULL, NULL,
                              &app_child, &error));
    g_child_watch_add(app_child, glib_on_child, &g);
    work_init(&g.work);
    g_unix_fd_add(procreact_future_iterator_fd(&g.work.it), G_IO_IN, glib_on_futures, &g);
    g_unix_fd_add(procreact_pid_iterator_fd(&g.work.pit), G_IO_IN, glib_on_pids, &g);
    g_timeout_add(30000, glib_on_timeout, &g);
    g_main_loop_run(g.loop);
    assert_false(g.timed_out);
    assert_true(g.watch_done);
    assert_true(g_spawn_check_wait_status(g.watch_status, NULL) == FALSE);
    assert_true(WIFEXITED(g.watch_status) && WEXITSTATUS(g.watch_status) == 42);
    /* Woken by progress, not spinning: a few steps per item at most. */
    assert_true(g.work.steps <= 4 * ITEMS);
    work_check(&g.work);
    assert_own_exit(forked, 7);
    g_main_loop_unref(g.loop);
}

/* ----------------------------------------------------------------- libuv */

typedef struct {
    uv_loop_t loop;
    uv_poll_t futures, pids;
    uv_process_t app;
    uv_timer_t guard;
    Work work;
    long app_exit;
    int app_done;
    int timed_out;
} UvRun;

static void uv_maybe_stop(UvRun *u)
{
    if (!u->work.active && !u->work.pid_active && u->app_done) {
        uv_close((uv_handle_t *)&u->guard, NULL);
        uv_close((uv_handle_t *)&u->app, NULL);
    }
}

static void uv_on_futures(uv_poll_t *handle, int status, int events)
{
    UvRun *u = handle->data;
    (void)status;
    (void)events;
    u->work.steps++;
    u->work.active = procreact_future_iterator_step(&u->work.it, LIMIT);
    if ((int)u->work.it.running_processes > u->work.running_max)
        u->work.running_max = (int)u->work.it.running_processes;
    if (!u->work.active)
        uv_close((uv_handle_t *)handle, NULL);
    uv_maybe_stop(u);
}

static void uv_on_pids(uv_poll_t *handle, int status, int events)
{
    UvRun *u = handle->data;
    (void)status;
    (void)events;
    u->work.pid_active = procreact_pid_iterator_step(&u->work.pit, 2);
    if (!u->work.pid_active)
        uv_close((uv_handle_t *)handle, NULL);
    uv_maybe_stop(u);
}

static void uv_on_app_exit(uv_process_t *process, int64_t exit_status, int term_signal)
{
    UvRun *u = process->data;
    (void)term_signal;
    u->app_exit = (long)exit_status;
    u->app_done = 1;
    uv_maybe_stop(u);
}

static void uv_on_guard(uv_timer_t *timer)
{
    UvRun *u = timer->data;
    u->timed_out = 1;
    uv_stop(&u->loop);
}

static void test_libuv_loop(void **state)
{
    UvRun *u = calloc(1, sizeof *u);
    char *args[] = {(char *)"sh", (char *)"-c", (char *)"sleep 0.2; exit 43", NULL};
    uv_process_options_t options;
    pid_t forked;
    (void)state;
    assert_non_null(u);
    assert_int_equal(uv_loop_init(&u->loop), 0);
    forked = own_fork(9);
    memset(&options, 0, sizeof options);
    options.file = "sh";
    options.args = args;
    options.exit_cb = uv_on_app_exit;
    u->app.data = u;
    assert_int_equal(uv_spawn(&u->loop, &u->app, &options), 0);
    work_init(&u->work);
    u->futures.data = u->pids.data = u->guard.data = u;
    assert_int_equal(uv_poll_init(&u->loop, &u->futures, procreact_future_iterator_fd(&u->work.it)), 0);
    assert_int_equal(uv_poll_init(&u->loop, &u->pids, procreact_pid_iterator_fd(&u->work.pit)), 0);
    uv_poll_start(&u->futures, UV_READABLE, uv_on_futures);
    uv_poll_start(&u->pids, UV_READABLE, uv_on_pids);
    uv_timer_init(&u->loop, &u->guard);
    uv_timer_start(&u->guard, uv_on_guard, 30000, 0);
    uv_run(&u->loop, UV_RUN_DEFAULT);
    assert_false(u->timed_out);
    assert_true(u->app_done);
    assert_int_equal(u->app_exit, 43);
    assert_true(u->work.steps <= 4 * ITEMS);
    work_check(&u->work);
    assert_own_exit(forked, 9);
    uv_loop_close(&u->loop);
    free(u);
}

/* ---------------------------------------------- quiet channels in GLib */

#define QUIET 100

typedef struct {
    GMainLoop *loop;
    ProcReact_FutureIterator it;
    int wakeups, completed, events, quiet_phase, active;
} QuietRun;

static void quiet_channel(void *data, const ProcReact_Future *future, ProcReact_Channel *channel,
                          ProcReact_ChannelEvent event, ProcReact_Message *message, int error)
{
    QuietRun *q = data;
    (void)future;
    (void)channel;
    (void)event;
    (void)error;
    q->events++;
    procreact_message_free(message);
}

static void quiet_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    QuietRun *q = data;
    (void)status;
    q->completed++;
    free(future->result);
}

static gboolean quiet_on_ready(gint fd, GIOCondition condition, gpointer data)
{
    QuietRun *q = data;
    (void)fd;
    (void)condition;
    if (q->quiet_phase)
        q->wakeups++;
    q->active = procreact_future_iterator_step(&q->it, 0);
    if (!q->active)
        g_main_loop_quit(q->loop);
    return q->active ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean quiet_over(gpointer data)
{
    QuietRun *q = data;
    q->quiet_phase = 0;
    procreact_future_iterator_cancel(&q->it); /* now they end: the loop steps them out */
    return G_SOURCE_REMOVE;
}

/* 100 children with channels that say nothing: the iterator's descriptor
 * never wakes the loop in 5 s; then, cancelled, all of them complete
 * through the same loop, each channel closed first. */
static void test_glib_quiet_channels(void **state)
{
    static const char *const argv[] = {"sleep", "60", NULL};
    QuietRun q;
    ProcReact_Command *cmd = procreact_command_new(argv);
    int i;
    (void)state;
    memset(&q, 0, sizeof q);
    q.loop = g_main_loop_new(NULL, FALSE);
    q.it = procreact_initialize_future_iterator(NULL, NULL, quiet_complete, &q);
    assert_int_equal(procreact_command_set_channel(cmd, PROCREACT_CHANNEL_FRAMED), 0);
    assert_int_equal(procreact_future_iterator_set_channel_callback(&q.it, quiet_channel, &q), 0);
    for (i = 0; i < QUIET; ++i) {
        ProcReact_Future f = procreact_command_spawn(cmd, procreact_create_string_type());
        assert_true(f.pid > 0);
        assert_int_equal(procreact_future_iterator_add(&q.it, &f), 0);
    }
    procreact_command_free(cmd);
    q.active = procreact_future_iterator_step(&q.it, 0);
    q.quiet_phase = 1;
    g_unix_fd_add(procreact_future_iterator_fd(&q.it), G_IO_IN, quiet_on_ready, &q);
    g_timeout_add(5000, quiet_over, &q);
    g_main_loop_run(q.loop);
    assert_int_equal(q.wakeups, 0);
    assert_int_equal(q.completed, QUIET);
    assert_int_equal(q.events, QUIET); /* one closed event each */
    procreact_destroy_future_iterator(&q.it);
    g_main_loop_unref(q.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_glib_main_loop),
        T_TEST(test_libuv_loop),
        T_TEST(test_glib_quiet_channels),
    };
    return cmocka_run_group_tests_name("mainloop", tests, NULL, NULL);
}
