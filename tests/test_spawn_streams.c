/* SPDX-License-Identifier: MIT */
/*
 * procreact_spawn.h: a spawned program's descriptors and standard streams.
 * Nothing of the parent's but 0-2 and what is passed, stdin and stdout
 * from and to descriptors, stdin from /dev/null (also after the
 * application closed every descriptor) or inherited, the stderr modes, and
 * 64 MiB through all three standard streams at once.
 */
#include "spawn_run.h"

#include <procreact_control.h>

/* ------------------------------------------------------------ descriptors */

static int g_passed = -1;

static void pass_one(ProcReact_Command *c) { assert_int_equal(procreact_command_pass_fd(c, g_passed), 0); }

/* The program lists its own descriptors (ls opens /proc/self/fd as 3):
 * nothing of the parent's but 0-2 and what is passed, even descriptors the
 * application opened without O_CLOEXEC. */
static void test_spawn_closes_application_descriptors(void **state)
{
    const char *argv[] = {"ls", "/proc/self/fd", NULL};
    int leaky[2];
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    char expect[128];
    (void)state;
    assert_int_equal(pipe(leaky), 0); /* no O_CLOEXEC: a fork+exec would leak these */
    g_passed = open("/dev/null", O_RDONLY);
    assert_true(g_passed > 4);
    out = run(argv, NULL, &info, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(out, "0\n1\n2\n3\n");
    free(out);
    out = run(argv, pass_one, &info, &status);
    snprintf(expect, sizeof expect, "0\n1\n2\n3\n%d\n", g_passed);
    assert_string_equal(out, expect);
    free(out);
    close(leaky[0]);
    close(leaky[1]);
    close(g_passed);
}

static int g_fd_in = -1, g_fd_out = -1;

static void stdin_from_fd(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_stdin(c, PROCREACT_STDIN_FD, g_fd_in), 0);
}

static void stdout_to_fd(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_FD, g_fd_out), 0);
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_FD, g_fd_out), 0);
}

static void test_spawn_streams_to_and_from_descriptors(void **state)
{
    char path[] = "/tmp/procreact-spawn-XXXXXX";
    ProcReact_ExitInfo info;
    char buf[64] = {0};
    char *out;
    int in_pipe[2];
    (void)state;
    assert_int_equal(pipe(in_pipe), 0);
    assert_int_equal(write(in_pipe[1], "from a pipe", 11), 11);
    close(in_pipe[1]);
    g_fd_in = in_pipe[0];
    out = sh("cat", stdin_from_fd, &info);
    assert_string_equal(out, "from a pipe");
    free(out);
    close(in_pipe[0]);

    g_fd_out = mkstemp(path);
    assert_true(g_fd_out >= 0);
    unlink(path);
    out = sh("echo to-file; echo err-to-file >&2", stdout_to_fd, &info);
    assert_string_equal(out, ""); /* not captured: the type saw no bytes */
    free(out);
    assert_int_equal(pread(g_fd_out, buf, sizeof buf - 1, 0), 20);
    assert_string_equal(buf, "to-file\nerr-to-file\n");
    close(g_fd_out);
}

static void stdin_inherit(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_stdin(c, PROCREACT_STDIN_INHERIT, -1), 0);
}

static void test_spawn_stdin_null_and_inherit(void **state)
{
    ProcReact_ExitInfo info;
    char *out;
    int saved, p[2];
    (void)state;
    out = sh("cat; echo end", NULL, &info); /* /dev/null: end of input at once */
    assert_string_equal(out, "end\n");
    free(out);
    /* Inherit: our stdin becomes a pipe for the test. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "ours", 4), 4);
    close(p[1]);
    saved = dup(0);
    assert_int_equal(dup2(p[0], 0), 0);
    close(p[0]);
    out = sh("cat", stdin_inherit, &info);
    dup2(saved, 0);
    close(saved);
    assert_string_equal(out, "ours");
    free(out);
}

/* The daemon idiom after a spawn: the application closes every descriptor
 * above 2, then spawns with the default stdin (/dev/null). The program must
 * get /dev/null, not whatever descriptor now has the number the library
 * once used (here its own next pipe: the program would wait for input
 * until its deadline). Run in a forked child so that the test process keeps
 * its descriptors; the verdict comes back as one byte through a pipe on
 * fd 2 (closing everything keeps 0-2), which no valgrind exit code can
 * change. */
static int null_stdin_after_closing_all(void)
{
    const char *once[] = {"true", NULL};
    const char *cat[] = {"cat", NULL};
    ProcReact_Command *c;
    ProcReact_Future f;
    ProcReact_ExitInfo info;
    ProcReact_Status st = PROCREACT_STATUS_FORK_FAIL;
    double t0;
    char *out;
    int fd;
    c = procreact_command_new(once);
    if (c == NULL)
        return 1;
    f = procreact_command_spawn(c, procreact_create_string_type());
    procreact_command_free(c);
    free(procreact_future_get(&f, &st));
    if (st != PROCREACT_STATUS_OK)
        return 2;
    for (fd = 3; fd < 1024; ++fd)
        close(fd);
    c = procreact_command_new(cat);
    if (c == NULL)
        return 3;
    f = procreact_command_spawn(c, procreact_create_string_type());
    procreact_command_free(c);
    if (f.pid <= 0)
        return 4;
    procreact_future_set_timeout(&f, 5.0);
    t0 = t_now();
    out = (char *)procreact_future_get_with_info(&f, &st, &info);
    if (info.flags & PROCREACT_EXIT_TIMED_OUT)
        return 5; /* cat read something that never ended */
    if (st != PROCREACT_STATUS_OK || !info.exited || info.exit_code != 0)
        return 6;
    if (out == NULL || out[0] != '\0')
        return 7;
    free(out);
    free(info.stderr_data);
    return t_now() - t0 < 3.0 ? 0 : 8;
}

static void test_spawn_null_stdin_after_closing_all(void **state)
{
    int p[2];
    unsigned char verdict = 255;
    pid_t pid;
    (void)state;
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char v;
        dup2(p[1], 2);
        v = (unsigned char)null_stdin_after_closing_all();
        if (write(2, &v, 1) != 1)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &verdict, 1), 1);
    close(p[0]);
    t_reap(pid);
    assert_int_equal(verdict, 0);
}

static void capture_err(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_CAPTURE, -1), 0);
}

static void merge_err(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_MERGE, -1), 0);
}

static void discard_all(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_DISCARD, -1), 0);
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_DISCARD, -1), 0);
}

static void test_spawn_stderr_modes(void **state)
{
    ProcReact_ExitInfo info;
    char *out;
    (void)state;
    out = sh("echo out; echo err >&2", capture_err, &info);
    assert_string_equal(out, "out\n");
    assert_int_equal(info.stderr_length, 4);
    assert_memory_equal(info.stderr_data, "err\n", 4);
    free(info.stderr_data);
    free(out);
    out = sh("echo out; echo err >&2", merge_err, &info);
    assert_string_equal(out, "out\nerr\n");
    assert_null(info.stderr_data);
    free(out);
    out = sh("echo out; echo err >&2; exit 0", discard_all, &info);
    assert_string_equal(out, "");
    assert_int_equal(info.exit_code, 0);
    free(out);
}

/* --------------------------------------------------- 64 MiB on every stream */

#define BIG (64u << 20)

static unsigned char *g_big;

static void big_in(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_stdin_bytes(c, g_big, BIG), 0);
    assert_int_equal(procreact_command_set_stderr(c, PROCREACT_OUTPUT_CAPTURE, -1), 0);
}

/* tee copies stdin to stdout and stderr at once: a parent that served one
 * pipe at a time would deadlock at the first full pipe. */
static void test_spawn_64_mib_on_all_streams(void **state)
{
    const char *argv[] = {"tee", "/dev/stderr", NULL};
    ProcReact_Command *c;
    ProcReact_Future f;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_BytesState *out;
    size_t i;
    (void)state;
    g_big = (unsigned char *)malloc(BIG);
    assert_non_null(g_big);
    for (i = 0; i < BIG; ++i)
        g_big[i] = (unsigned char)(i * 7 + (i >> 13));
    c = procreact_command_new(argv);
    big_in(c);
    f = procreact_command_spawn(c, procreact_create_bytes_type());
    procreact_command_free(c);
    out = (ProcReact_BytesState *)procreact_future_get_with_info(&f, &status, &info);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exit_code, 0);
    assert_non_null(out);
    assert_int_equal(out->data_size, BIG);
    assert_true(memcmp(out->data, g_big, BIG) == 0);
    assert_int_equal(info.stderr_length, BIG);
    assert_true(memcmp(info.stderr_data, g_big, BIG) == 0);
    free(out->data);
    free(out);
    free(info.stderr_data);
    free(g_big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_closes_application_descriptors),
        cmocka_unit_test(test_spawn_streams_to_and_from_descriptors),
        cmocka_unit_test(test_spawn_stdin_null_and_inherit),
        cmocka_unit_test(test_spawn_null_stdin_after_closing_all),
        cmocka_unit_test(test_spawn_stderr_modes),
        cmocka_unit_test(test_spawn_64_mib_on_all_streams),
    };
    return cmocka_run_group_tests_name("spawn_streams", tests, NULL, NULL);
}
