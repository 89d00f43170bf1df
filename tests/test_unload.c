/* SPDX-License-Identifier: MIT */
/*
 * dlclose() after spawning from several threads: no launcher thread is
 * left running (or waiting in) the library's code once it is unmapped.
 * The library is loaded with dlopen() from PROCREACT_TEST_LIBRARY (this
 * executable is not linked with it), and PROCREACT_SPAWN_THREADS=4 turns
 * the iterator's several-thread fill on (tests/meson.build).
 */
#include "test.h"

#include <dlfcn.h>
#include <pthread.h>

#include <procreact_control.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

typedef struct {
    void *lib;
    __typeof__(procreact_command_new) *command_new;
    __typeof__(procreact_command_free) *command_free;
    __typeof__(procreact_command_spawn) *command_spawn;
    __typeof__(procreact_create_string_type) *string_type;
    __typeof__(procreact_initialize_future_iterator) *iterator_new;
    __typeof__(procreact_fork_buffer_and_wait_in_parallel_limit) *run_limit;
    __typeof__(procreact_destroy_future_iterator) *iterator_free;
    int total, next_job, completed;
} Lib;

/* Whether a file named like the library is mapped in this process. */
static int library_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "libprocreact.so") != NULL)
            found = 1;
    fclose(f);
    return found;
}

static ProcReact_bool has_next(void *data)
{
    Lib *l = data;
    return l->next_job < l->total;
}

static ProcReact_Future next(void *data)
{
    Lib *l = data;
    const char *argv[] = {"true", NULL};
    ProcReact_Command *c = l->command_new(argv);
    ProcReact_Future f;
    ++l->next_job; /* claimed before the spawn */
    f = l->command_spawn(c, l->string_type());
    l->command_free(c);
    return f;
}

static void complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Lib *l = data;
    ++l->completed;
    free(future->result);
}

/* Runs the jobs on a thread of its own, so that the main thread never
 * holds the library's thread-local state (which would keep it mapped). */
static void *run_jobs(void *arg)
{
    Lib *l = arg;
    ProcReact_FutureIterator it = l->iterator_new(has_next, next, complete, l);
    l->run_limit(&it, 8);
    l->iterator_free(&it);
    return NULL;
}

/* Loads the library, runs 60 jobs 8 at a time from four threads; 0 when
 * every job completed. */
static int load_and_run(Lib *l)
{
    pthread_t runner;
    const char *path = getenv("PROCREACT_TEST_LIBRARY");
    memset(l, 0, sizeof *l);
    l->total = 60;
    if (path == NULL || (l->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
        return -1;
    *(void **)&l->command_new = dlsym(l->lib, "procreact_command_new"); /* POSIX: how a function is taken from dlsym() */
    *(void **)&l->command_free = dlsym(l->lib, "procreact_command_free");
    *(void **)&l->command_spawn = dlsym(l->lib, "procreact_command_spawn");
    *(void **)&l->string_type = dlsym(l->lib, "procreact_create_string_type");
    *(void **)&l->iterator_new = dlsym(l->lib, "procreact_initialize_future_iterator");
    *(void **)&l->run_limit = dlsym(l->lib, "procreact_fork_buffer_and_wait_in_parallel_limit");
    *(void **)&l->iterator_free = dlsym(l->lib, "procreact_destroy_future_iterator");
    if (l->command_new == NULL || l->command_free == NULL || l->command_spawn == NULL || l->string_type == NULL ||
        l->iterator_new == NULL || l->run_limit == NULL || l->iterator_free == NULL)
        return -1;
    if (pthread_create(&runner, NULL, run_jobs, l) != 0)
        return -1;
    pthread_join(runner, NULL);
    return l->completed == l->total ? 0 : -1;
}

/* dlclose() at once: whether or not the library could be unmapped (a
 * thread that spawned keeps it mapped until it ends), no launcher thread
 * is left for long, and none once it is unmapped. */
static int scenario_close_at_once(void)
{
    Lib l;
    double start;
    CHECK(1, load_and_run(&l) == 0);
    CHECK(2, t_launcher_count() > 0); /* launcher threads were used */
    CHECK(3, dlclose(l.lib) == 0);
    if (library_mapped() == 0)
        CHECK(4, t_launcher_count() == 0);
    start = t_now();
    while (t_launcher_count() > 0 && t_now() - start < 20.0)
        t_sleep_ms(100);
    CHECK(5, t_launcher_count() == 0);
    t_sleep_ms(200);
    return 0;
}

/* dlclose() once the threads have ended: the library is unmapped, and the
 * threads that ended by themselves were joined on the way. */
static int scenario_close_when_idle(void)
{
    Lib l;
    double start;
    CHECK(1, load_and_run(&l) == 0);
    start = t_now();
    while (t_launcher_count() > 0 && t_now() - start < 20.0)
        t_sleep_ms(100);
    CHECK(2, t_launcher_count() == 0);
    CHECK(3, dlclose(l.lib) == 0);
    CHECK(4, library_mapped() == 0);
    CHECK(5, t_launcher_count() == 0);
    return 0;
}

static void test_close_at_once(void **state)
{
    (void)state;
    assert_int_equal(isolated(scenario_close_at_once, 60), 0);
}

static void test_close_when_idle(void **state)
{
    (void)state;
    assert_int_equal(isolated(scenario_close_when_idle, 60), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_TEST(test_close_at_once),
        T_TEST(test_close_when_idle),
    };
    return cmocka_run_group_tests_name("unload", tests, NULL, NULL);
}
