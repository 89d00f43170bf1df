/* SPDX-License-Identifier: MIT */
/*
 * procreact_exit.h: exit details of forked futures, from a single get and
 * inside an iterator's completion callback.
 */
#include "test.h"

#include <sys/mman.h>

#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

static ProcReact_Future fork_exiting(int code, const char *text)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        if (text != NULL)
            t_write_str(future.fd, text);
        _exit(code);
    }
    return future;
}

static void test_exit_code_and_times(void **state)
{
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result;
    (void)state;
    future = procreact_initialize_future(procreact_create_string_type());
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        /* Burn some CPU, then exit with 3. */
        volatile unsigned long spin = 0;
        const double end = t_cpu() + 0.15;
        while (t_cpu() < end)
            ++spin;
        _exit(3);
    }
    memset(&info, 0x5a, sizeof info);
    result = (char *)procreact_future_get_with_info(&future, &status, &info);
    assert_null(result); /* non-zero exit: no result, status OK (as 0.1) */
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exited, 1);
    assert_int_equal(info.exit_code, 3);
    assert_int_equal(info.signal, 0);
    assert_int_equal(info.core_dumped, 0);
    assert_int_equal(info.exec_errno, 0);
    assert_int_equal(info.flags, 0);
    /* The child's clock reads are system calls: count both kinds of CPU time. */
    assert_true(info.user_time + info.system_time >= 0.1);
    assert_true(info.wall_time >= (info.user_time + info.system_time) * 0.9);
    assert_true(info.max_rss_kib > 0);
    assert_null(info.stderr_data);
    assert_int_equal(info.stderr_length, 0);

    /* Asked again: the cached result, and nothing more is known. */
    memset(&info, 0x5a, sizeof info);
    assert_null(procreact_future_get_with_info(&future, &status, &info));
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exited, 0);
    assert_int_equal(info.exit_code, -1);
}

static void test_exit_signal(void **state)
{
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_OK;
    (void)state;
    future = procreact_initialize_future(procreact_create_bytes_type());
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "partial");
        raise(SIGKILL);
        _exit(0);
    }
    assert_null(procreact_future_get_with_info(&future, &status, &info));
    assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);
    assert_int_equal(info.exited, 0);
    assert_int_equal(info.exit_code, -1);
    assert_int_equal(info.signal, SIGKILL);
    assert_int_equal(info.exec_errno, 0);
}

static void test_exit_plain_get_unchanged(void **state)
{
    ProcReact_Future future = fork_exiting(0, "plain");
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result;
    (void)state;
    result = (char *)procreact_future_get(&future, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(result, "plain");
    free(result);
}

/* A custom type reaps the child in its own finalize: the details are still known. */
static void *count_init(void) { return calloc(1, sizeof(size_t)); }

static ssize_t count_append(ProcReact_Type *type, void *state, int fd)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    (void)type;
    if (n > 0)
        *(size_t *)state += (size_t)n;
    return n;
}

static void *count_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    procreact_wait_for_exit_status(pid, status);
    return state;
}

static void test_exit_custom_type(void **state)
{
    ProcReact_Type type;
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    size_t *count;
    (void)state;
    memset(&type, 0, sizeof type);
    type.initialize = count_init;
    type.append = count_append;
    type.finalize = count_finalize;
    future = procreact_initialize_future(type);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        t_write_str(future.fd, "twelve bytes");
        _exit(9);
    }
    count = (size_t *)procreact_future_get_with_info(&future, &status, &info);
    assert_non_null(count);
    assert_int_equal(*count, 12);
    free(count);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exited, 1);
    assert_int_equal(info.exit_code, 9);
}

typedef struct {
    int next, total;
    int seen, right;
    int outside_enoent;
} ExitWork;

static ProcReact_bool work_has_next(void *data) { return ((ExitWork *)data)->next < ((ExitWork *)data)->total; }

static ProcReact_Future work_next(void *data)
{
    ExitWork *w = (ExitWork *)data;
    const int index = w->next++;
    return fork_exiting(10 + index, "x");
}

static ProcReact_Future g_copy;

static void work_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    ExitWork *w = (ExitWork *)data;
    ProcReact_ExitInfo info;
    ++w->seen;
    /* Only for the struct the library handed over, only while the callback runs. */
    g_copy = *future;
    errno = 0;
    if (procreact_future_info(&g_copy, &info) == -1 && errno == ENOENT)
        ++w->outside_enoent;
    if (status == PROCREACT_STATUS_OK && procreact_future_info(future, &info) == 0 && info.exited == 1 &&
        info.exit_code >= 10 && info.exit_code < 10 + w->total && info.signal == 0 && info.exec_errno == 0)
        ++w->right;
    free(future->result);
}

static void test_exit_info_in_completion(void **state)
{
    ExitWork work = {0, 6, 0, 0, 0};
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(work_has_next, work_next, work_complete, &work);
    ProcReact_ExitInfo info;
    (void)state;
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 3);
    procreact_destroy_future_iterator(&it);
    assert_int_equal(work.seen, 6);
    assert_int_equal(work.right, 6);
    assert_int_equal(work.outside_enoent, 6);
    /* After the callback: not available any more. */
    errno = 0;
    assert_int_equal(procreact_future_info(&g_copy, &info), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(procreact_future_info(NULL, &info), -1);
    assert_int_equal(errno, EINVAL);
}

/* ---------------------------------------------- max_rss_kib (documented) */

/* A field of /proc/self/status, in KiB. */
static long status_kib(const char *field)
{
    char line[256];
    long kib = -1;
    size_t len = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kib = strtol(line + len + 1, NULL, 10);
    fclose(f);
    return kib;
}

static long spawned_max_rss(const char *const *argv)
{
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    assert_non_null(command);
    future = procreact_command_spawn(command, procreact_create_string_type());
    procreact_command_free(command);
    free(procreact_future_get_with_info(&future, &status, &info));
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exit_code, 0);
    free(info.stderr_data);
    return info.max_rss_kib;
}

/* What procreact_exit.h says of max_rss_kib: a spawned program reports at
 * least the parent's peak at the spawn, even after the parent gave the
 * memory back, and its own peak when that is larger. (Under valgrind the
 * spawn is emulated and the parent's size is valgrind's: only the second
 * part is checked there.) */
static void test_exit_max_rss_of_spawned_programs(void **state)
{
    const size_t big = (size_t)128 << 20;
    const char *const small[] = {"true", NULL};
    const char *const grows[] = {"/usr/bin/python3", "-c", "b = bytearray(256 << 20)", NULL};
    volatile unsigned char *block;
    long peak, rss;
    size_t i;
    (void)state;
    block = (volatile unsigned char *)mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(block != MAP_FAILED);
    for (i = 0; i < big; i += 4096)
        block[i] = 1;
    munmap((void *)block, big); /* the resident size drops, the peak stays */
    peak = status_kib("VmHWM");
    assert_true(peak >= (long)(big >> 10));
    rss = spawned_max_rss(small);
    if (!t_under_valgrind()) {
        assert_true(status_kib("VmRSS") < peak / 2); /* the parent holds far less now */
        if (rss < peak * 9 / 10)
            fail_msg("a program spawned after a peak of %ld KiB reports %ld KiB", peak, rss);
    }
    rss = spawned_max_rss(grows);
    if (rss < (256L << 10))
        fail_msg("a program that holds 256 MiB reports %ld KiB", rss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_code_and_times),
        cmocka_unit_test(test_exit_signal),
        cmocka_unit_test(test_exit_plain_get_unchanged),
        cmocka_unit_test(test_exit_custom_type),
        cmocka_unit_test(test_exit_info_in_completion),
        cmocka_unit_test(test_exit_max_rss_of_spawned_programs),
    };
    return cmocka_run_group_tests_name("exit", tests, NULL, NULL);
}
