/* SPDX-License-Identifier: MIT */
/*
 * procreact_spawn.h: commands spawned as futures. argv and the PATH search
 * (the parent's PATH, the command's own, none at all), exec errors found in
 * the child, a spawn with every descriptor in use, the exit details, and
 * every bad input. The program's environment, working directory, group and
 * signals: test_spawn_environment.c; its descriptors and streams:
 * test_spawn_streams.c; spawned futures in an iterator and from threads:
 * test_spawn_futures.c.
 */
#include "spawn_run.h"

#include <sys/resource.h>

/* ------------------------------------------------------------- argv, PATH */

static void test_spawn_argv_and_path(void **state)
{
    const char *argv[] = {"printf", "%s|%s|%s", "a b", "", "c", NULL};
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    (void)state;
    out = run(argv, NULL, &info, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(out, "a b||c");
    assert_int_equal(info.exited, 1);
    assert_int_equal(info.exit_code, 0);
    assert_int_equal(info.exec_errno, 0);
    free(out);
}

static void use_path_env(ProcReact_Command *c)
{
    /* The command's own PATH decides the lookup. */
    assert_int_equal(procreact_command_set_env(c, "PATH", "/nonexistent:/usr/bin:/bin"), 0);
}

static void test_spawn_path_from_command_env(void **state)
{
    const char *argv[] = {"echo", "found", NULL};
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    (void)state;
    out = run(argv, use_path_env, &info, &status);
    assert_string_equal(out, "found\n");
    free(out);
}

/* PATH comes from the program's environment only: the parent's when it is
 * inherited, the command's own when it sets one, and without any (cleared
 * or unset) /bin:/usr/bin, as Python's subprocess (os.defpath) and
 * execvp() do. A program found only in the parent's PATH is then not
 * found. */
static void unset_path(ProcReact_Command *c) { assert_int_equal(procreact_command_unset_env(c, "PATH"), 0); }

static void clear_env(ProcReact_Command *c) { assert_int_equal(procreact_command_clear_env(c), 0); }

static char g_probe_dir[64];

static void clear_env_probe_path(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_clear_env(c), 0);
    assert_int_equal(procreact_command_set_env(c, "PATH", g_probe_dir), 0);
}

static void test_spawn_path_without_path_in_env(void **state)
{
    const char *probe[] = {"pr-path-probe", NULL};
    const char *shell[] = {"sh", "-c", "echo ran", NULL};
    char script[128], *old_path, *path, *out;
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    FILE *f;
    (void)state;
    strcpy(g_probe_dir, "/tmp/procreact-path-XXXXXX");
    assert_non_null(mkdtemp(g_probe_dir));
    snprintf(script, sizeof script, "%s/pr-path-probe", g_probe_dir);
    f = fopen(script, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho probe\n", f);
    fclose(f);
    assert_int_equal(chmod(script, 0755), 0);
    old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    path = (char *)malloc(strlen(g_probe_dir) + strlen(old_path) + 2);
    assert_non_null(old_path);
    assert_non_null(path);
    sprintf(path, "%s:%s", g_probe_dir, old_path);
    setenv("PATH", path, 1);

    out = run(probe, NULL, &info, &status); /* inherited: the parent's PATH */
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(out, "probe\n");
    free(out);
    out = run(probe, unset_path, &info, &status);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_null(out);
    assert_int_equal(info.exec_errno, ENOENT);
    out = run(probe, clear_env, &info, &status);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(info.exec_errno, ENOENT);
    out = run(shell, clear_env, &info, &status); /* /bin:/usr/bin */
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(out, "ran\n");
    free(out);
    out = run(probe, clear_env_probe_path, &info, &status); /* the command's own */
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(out, "probe\n");
    free(out);

    setenv("PATH", old_path, 1);
    free(old_path);
    free(path);
    assert_int_equal(unlink(script), 0);
    assert_int_equal(rmdir(g_probe_dir), 0);
}

/* Exec errors the child finds itself (the launcher searches PATH in the
 * child once a launch has shown that its errors reach the parent): a file
 * that is there but may not run gives way to a later one, and is reported
 * (EACCES) only when nothing later runs; a missing program is ENOENT; a
 * path component that is a file is skipped; no child, no descriptor left. */
static void test_spawn_exec_errors_from_the_child(void **state)
{
    const char *warm[] = {"true", NULL};
    const char *probe[] = {"pr-exec-probe", NULL};
    const char *missing[] = {"pr-no-such-program", NULL};
    const char *dir_prog[] = {"/tmp", NULL};
    char dir_a[64], dir_b[64], file_a[128], file_b[128], path[400];
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    FILE *f;
    int before;
    (void)state;
    out = run(warm, NULL, &info, &status); /* the first launch: checked in the parent */
    assert_int_equal(status, PROCREACT_STATUS_OK);
    free(out);
    before = t_count_fds();
    strcpy(dir_a, "/tmp/procreact-exec-a-XXXXXX");
    strcpy(dir_b, "/tmp/procreact-exec-b-XXXXXX");
    assert_non_null(mkdtemp(dir_a));
    assert_non_null(mkdtemp(dir_b));
    snprintf(file_a, sizeof file_a, "%s/pr-exec-probe", dir_a);
    snprintf(file_b, sizeof file_b, "%s/pr-exec-probe", dir_b);
    f = fopen(file_a, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho a\n", f);
    fclose(f);
    assert_int_equal(chmod(file_a, 0644), 0); /* there, not executable */
    f = fopen(file_b, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho b\n", f);
    fclose(f);
    assert_int_equal(chmod(file_b, 0755), 0);

    /* A file as a directory of PATH (ENOTDIR), the unrunnable one, the good one. */
    snprintf(path, sizeof path, "PATH=%s:%s:%s", file_b, dir_a, dir_b);
    ProcReact_Command *c = procreact_command_new(probe);
    assert_non_null(c);
    assert_int_equal(procreact_command_put_env(c, path), 0);
    ProcReact_Future fut = procreact_command_spawn(c, procreact_create_string_type());
    out = (char *)procreact_future_get_with_info(&fut, &status, &info);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(out, "b\n");
    free(out);

    /* Only the unrunnable one: EACCES. */
    snprintf(path, sizeof path, "PATH=%s:/nonexistent", dir_a);
    assert_int_equal(procreact_command_put_env(c, path), 0);
    fut = procreact_command_spawn(c, procreact_create_string_type());
    assert_int_equal(fut.pid, -1);
    assert_int_equal(errno, EACCES);
    assert_null(procreact_future_get_with_info(&fut, &status, &info));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(info.exec_errno, EACCES);
    procreact_destroy_future(&fut);
    procreact_command_free(c);

    /* Not anywhere in PATH: ENOENT. A directory named by path: EACCES. */
    out = run(missing, NULL, &info, &status);
    assert_null(out);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(info.exec_errno, ENOENT);
    out = run(dir_prog, NULL, &info, &status);
    assert_null(out);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(info.exec_errno, EACCES);

    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), before);
    assert_int_equal(unlink(file_a), 0);
    assert_int_equal(unlink(file_b), 0);
    assert_int_equal(rmdir(dir_a), 0);
    assert_int_equal(rmdir(dir_b), 0);
}

/* With every descriptor in use, a program that needs no new descriptor
 * (all three streams inherited) still starts: the library then watches it
 * by pid, without a pidfd. */
static void test_spawn_with_no_descriptor_left(void **state)
{
    const char *argv[] = {"true", NULL};
    struct rlimit old, low;
    int fds[256], count = 0, fd;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    ProcReact_Command *c;
    ProcReact_Future f;
    char *out;
    (void)state;
    c = procreact_command_new(argv);
    assert_non_null(c);
    assert_int_equal(procreact_command_set_stdin(c, PROCREACT_STDIN_INHERIT, -1), 0);
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_INHERIT, -1), 0);
    f = procreact_command_spawn(c, procreact_create_string_type()); /* the first launch, checked */
    free(procreact_future_get(&f, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)t_count_fds() + 200;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    while (count < 256 && (fd = dup(0)) >= 0)
        fds[count++] = fd;
    assert_int_equal(errno, EMFILE);
    status = PROCREACT_STATUS_FORK_FAIL;
    f = procreact_command_spawn(c, procreact_create_string_type());
    out = (char *)procreact_future_get(&f, &status);
    while (count > 0)
        close(fds[--count]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    free(out);
    procreact_command_free(c);
    assert_true(t_no_children());
}

/* ------------------------------------------------------------ exit details */

static void test_spawn_exit_details(void **state)
{
    const char *missing[] = {"procreact-no-such-program", NULL};
    char not_exec_path[] = "/tmp/procreact-noexec-XXXXXX";
    const char *not_exec[] = {not_exec_path, NULL};
    int fd;
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    (void)state;
    /* Ran and exited 127: not an exec failure. */
    out = sh("exit 127", NULL, &info);
    assert_null(out);
    assert_int_equal(info.exited, 1);
    assert_int_equal(info.exit_code, 127);
    assert_int_equal(info.exec_errno, 0);
    /* Killed by a signal. */
    {
        const char *argv[] = {"sh", "-c", "kill -TERM $$", NULL};
        out = run(argv, NULL, &info, &status);
        assert_null(out);
        assert_int_equal(status, PROCREACT_STATUS_ABNORMAL_TERMINATION);
    }
    assert_int_equal(info.exited, 0);
    assert_int_equal(info.signal, SIGTERM);
    /* Could not run at all: no child, FORK_FAIL, the errno. */
    out = run(missing, NULL, &info, &status);
    assert_null(out);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(info.exec_errno, ENOENT);
    assert_int_equal(info.exited, 0);
    fd = mkstemp(not_exec_path); /* mode 0600: not executable */
    assert_true(fd >= 0);
    close(fd);
    out = run(not_exec, NULL, &info, &status);
    unlink(not_exec_path);
    assert_null(out);
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(info.exec_errno, EACCES);
    assert_true(t_no_children());
}

/* ------------------------------------------------------------- bad input */

static void test_spawn_bad_input(void **state)
{
    const char *empty[] = {NULL};
    const char *blank[] = {"", NULL};
    const char *ok[] = {"true", NULL};
    ProcReact_Command *c;
    ProcReact_Future f;
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    ProcReact_Type no_append;
    int before = t_count_fds();
    (void)state;
    errno = 0;
    assert_null(procreact_command_new(NULL));
    assert_int_equal(errno, EINVAL);
    assert_null(procreact_command_new(empty));
    assert_null(procreact_command_new(blank));
    c = procreact_command_new(ok);
    assert_non_null(c);
    assert_int_equal(procreact_command_put_env(c, "NOEQUALS"), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(procreact_command_put_env(c, "=value"), -1);
    assert_int_equal(procreact_command_set_env(c, "A=B", "x"), -1);
    assert_int_equal(procreact_command_set_env(c, "", "x"), -1);
    assert_int_equal(procreact_command_unset_env(c, NULL), -1);
    assert_int_equal(procreact_command_pass_fd(c, 1), -1);
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_MERGE, -1), -1);
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_FD, -1), -1);
    assert_int_equal(procreact_command_set_stdin(c, PROCREACT_STDIN_BYTES, -1), -1);
    assert_int_equal(procreact_command_set_stdin_bytes(c, NULL, 3), -1);
    assert_int_equal(procreact_command_set_cwd(c, ""), -1);
    assert_int_equal(procreact_command_set_cwd(NULL, "/"), -1);

    /* A descriptor that is not open: EBADF, no child. */
    assert_int_equal(procreact_command_pass_fd(c, 987), 0);
    f = procreact_command_spawn(c, procreact_create_string_type());
    assert_int_equal(f.pid, -1);
    assert_int_equal(errno, EBADF);
    assert_null(procreact_future_get_with_info(&f, &status, &info));
    assert_int_equal(status, PROCREACT_STATUS_FORK_FAIL);
    assert_int_equal(info.exec_errno, EBADF);
    procreact_destroy_future(&f);
    procreact_command_free(c);

    /* A missing directory. */
    c = procreact_command_new(ok);
    assert_int_equal(procreact_command_set_cwd(c, "/nonexistent/dir"), 0);
    f = procreact_command_spawn(c, procreact_create_string_type());
    assert_int_equal(f.pid, -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(procreact_command_set_cwd(c, "/etc/hostname"), 0);
    f = procreact_command_spawn(c, procreact_create_string_type());
    assert_int_equal(errno, ENOTDIR);
    /* A type without functions, and no command. */
    assert_int_equal(procreact_command_set_cwd(c, NULL), 0);
    memset(&no_append, 0, sizeof no_append);
    f = procreact_command_spawn(c, no_append);
    assert_int_equal(f.pid, -1);
    assert_int_equal(errno, EINVAL);
    f = procreact_command_spawn(NULL, procreact_create_string_type());
    assert_int_equal(f.pid, -1);
    assert_int_equal(errno, EINVAL);
    procreact_command_free(c);
    procreact_command_free(NULL);
    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_argv_and_path),
        cmocka_unit_test(test_spawn_path_from_command_env),
        cmocka_unit_test(test_spawn_path_without_path_in_env),
        cmocka_unit_test(test_spawn_exec_errors_from_the_child),
        cmocka_unit_test(test_spawn_with_no_descriptor_left),
        cmocka_unit_test(test_spawn_exit_details),
        cmocka_unit_test(test_spawn_bad_input),
    };
    return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
