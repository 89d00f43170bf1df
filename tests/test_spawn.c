/* SPDX-License-Identifier: MIT */
/*
 * procreact_spawn.h: commands spawned as futures. Every option, every bad
 * input, descriptors the program must not see, 64 MiB through all three
 * standard streams at once, many threads spawning at once, and spawned
 * futures inside a future iterator.
 */
#include "test.h"

#include <pthread.h>
#include <sys/resource.h>

#include <procreact_control.h>
#include <procreact_exit.h>
#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_spawn.h>
#include <procreact_types.h>

/* Runs @p argv (with @p setup applied) and returns its stdout as a string;
 * the exit details go to @p info. */
static char *run(const char *const *argv, void (*setup)(ProcReact_Command *), ProcReact_ExitInfo *info,
                 ProcReact_Status *status)
{
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    char *result;
    assert_non_null(command);
    if (setup != NULL)
        setup(command);
    future = procreact_command_spawn(command, procreact_create_string_type());
    procreact_command_free(command); /* the future does not need it */
    result = (char *)procreact_future_get_with_info(&future, status, info);
    return result;
}

static char *sh(const char *script, void (*setup)(ProcReact_Command *), ProcReact_ExitInfo *info)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *result = run(argv, setup, info, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    return result;
}

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

/* ------------------------------------------------------------ environment */

static void env_edits(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_set_env(c, "PR_A", "one"), 0);
    assert_int_equal(procreact_command_put_env(c, "PR_B=two=2"), 0);
    assert_int_equal(procreact_command_set_env(c, "PR_C", "gone"), 0);
    assert_int_equal(procreact_command_unset_env(c, "PR_C"), 0);
    assert_int_equal(procreact_command_unset_env(c, "PR_PARENT_ONLY"), 0);
}

static void test_spawn_environment(void **state)
{
    ProcReact_ExitInfo info;
    char *out;
    (void)state;
    setenv("PR_PARENT", "inherited", 1);
    setenv("PR_PARENT_ONLY", "should go", 1);
    out = sh("echo \"$PR_A,$PR_B,${PR_C-unset},$PR_PARENT,${PR_PARENT_ONLY-unset}\"", env_edits, &info);
    assert_string_equal(out, "one,two=2,unset,inherited,unset\n");
    free(out);
}

static void env_cleared(ProcReact_Command *c)
{
    assert_int_equal(procreact_command_clear_env(c), 0);
    assert_int_equal(procreact_command_set_env(c, "ONLY", "me"), 0);
}

static void test_spawn_empty_environment(void **state)
{
    const char *argv[] = {"/usr/bin/env", NULL};
    ProcReact_ExitInfo info;
    ProcReact_Status status;
    char *out;
    (void)state;
    out = run(argv, env_cleared, &info, &status);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_string_equal(out, "ONLY=me\n");
    free(out);
}

/* ------------------------------------------------ cwd, group, signals */

static void in_tmp(ProcReact_Command *c) { assert_int_equal(procreact_command_set_cwd(c, "/tmp"), 0); }

static void test_spawn_cwd(void **state)
{
    ProcReact_ExitInfo info;
    char *out;
    (void)state;
    out = sh("pwd", in_tmp, &info);
    assert_string_equal(out, "/tmp\n");
    free(out);
}

/* A relative program path is relative to the program's working directory,
 * as execve() after the chdir sees it. */
static void test_spawn_relative_program_in_cwd(void **state)
{
    char dir[] = "/tmp/procreact-cwd-XXXXXX";
    char script[64];
    const char *argv[] = {"./hello.sh", NULL};
    ProcReact_Command *c;
    ProcReact_Future f;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *out;
    int fd;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof script, "%s/hello.sh", dir);
    fd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    assert_int_equal(t_write_str(fd, "#!/bin/sh\necho relative\n"), 0);
    close(fd);
    c = procreact_command_new(argv);
    assert_int_equal(procreact_command_set_cwd(c, dir), 0);
    f = procreact_command_spawn(c, procreact_create_string_type());
    procreact_command_free(c);
    out = (char *)procreact_future_get(&f, &status);
    unlink(script);
    rmdir(dir);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_non_null(out);
    assert_string_equal(out, "relative\n");
    free(out);
}

static void new_group(ProcReact_Command *c) { assert_int_equal(procreact_command_set_new_process_group(c, 1), 0); }

static void test_spawn_new_process_group(void **state)
{
    ProcReact_ExitInfo info;
    char *out, *same;
    char expect[64];
    (void)state;
    /* Field 5 of /proc/self/stat is the process group, field 1 the pid. */
    out = sh("set -- $(cat /proc/$$/stat); echo $1 $5", new_group, &info);
    {
        long pid = 0, pgrp = -1;
        assert_int_equal(sscanf(out, "%ld %ld", &pid, &pgrp), 2);
        assert_int_equal(pid, pgrp); /* the spawned shell leads its own group */
    }
    free(out);
    /* Without it, the program stays in ours. */
    snprintf(expect, sizeof expect, "%ld\n", (long)getpgrp());
    same = sh("set -- $(cat /proc/$$/stat); echo $5", NULL, &info);
    assert_string_equal(same, expect);
    free(same);
}

static void test_spawn_signals_reset(void **state)
{
    struct sigaction ign, old_int;
    sigset_t block, old_mask;
    ProcReact_ExitInfo info;
    char *out;
    (void)state;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    assert_int_equal(sigaction(SIGINT, &ign, &old_int), 0);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
    /* The program reads its own status (not through a shell, which blocks
     * signals while it waits for a child): nothing ignored, nothing blocked. */
    {
        const char *argv[] = {"grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status", NULL};
        ProcReact_Status status;
        out = run(argv, NULL, &info, &status);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGINT, &old_int, NULL);
    assert_string_equal(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    free(out);
}

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

/* ------------------------------------------------------------- iterators */

typedef struct {
    ProcReact_Command *command;
    int next, total, right, err_right;
} SpawnWork;

static ProcReact_bool spawn_has_next(void *data) { return ((SpawnWork *)data)->next < ((SpawnWork *)data)->total; }

static ProcReact_Future spawn_next(void *data)
{
    SpawnWork *w = (SpawnWork *)data;
    char input[32];
    snprintf(input, sizeof input, "%d", w->next++);
    procreact_command_set_stdin_bytes(w->command, input, strlen(input));
    return procreact_command_spawn(w->command, procreact_create_string_type());
}

static void spawn_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    SpawnWork *w = (SpawnWork *)data;
    ProcReact_ExitInfo info;
    char *out = (char *)future->result;
    if (procreact_future_info(future, &info) == 0) {
        /* The script echoes its input to stdout and "e<input>" to stderr, exits with input % 7. */
        int n = out != NULL ? atoi(out) : -1;
        if (status == PROCREACT_STATUS_OK && n >= 0 && info.exited && info.exit_code == n % 7) {
            char want[40];
            snprintf(want, sizeof want, "e%d", n);
            ++w->right;
            if (info.stderr_length == strlen(want) && memcmp(info.stderr_data, want, info.stderr_length) == 0)
                ++w->err_right;
        }
        free(info.stderr_data);
    }
    free(out);
}

static void test_spawn_in_iterator(void **state)
{
    const char *argv[] = {"sh", "-c", "read n; echo $n; printf e$n >&2; exit $((n % 7))", NULL};
    SpawnWork work;
    ProcReact_FutureIterator it;
    (void)state;
    memset(&work, 0, sizeof work);
    work.total = t_under_valgrind() ? 8 : 40;
    work.command = procreact_command_new(argv);
    procreact_command_set_stderr(work.command, PROCREACT_OUTPUT_CAPTURE, -1);
    it = procreact_initialize_future_iterator(spawn_has_next, spawn_next, spawn_complete, &work);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 4);
    procreact_destroy_future_iterator(&it);
    procreact_command_free(work.command);
    /* exit code 0 gives the string, non-zero gives NULL (0.1 rule): count both */
    assert_true(work.right >= work.total / 7);
    assert_int_equal(work.right, work.err_right);
    assert_true(t_no_children());
}

/* A custom type over a program whose stdout is not captured: nothing to
 * read, the future still completes. */
static void *nothing_init(void) { return calloc(1, 1); }

static ssize_t nothing_append(ProcReact_Type *type, void *state, int fd)
{
    (void)type;
    (void)state;
    return read(fd, NULL, 0) < 0 ? -1 : 0;
}

static void *nothing_finalize(void *state, pid_t pid, ProcReact_Status *status)
{
    procreact_wait_for_exit_status(pid, status);
    return state;
}

static void test_spawn_custom_type_without_capture(void **state)
{
    const char *argv[] = {"sh", "-c", "exit 5", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    ProcReact_Type type;
    ProcReact_Future f;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    void *r;
    (void)state;
    memset(&type, 0, sizeof type);
    type.initialize = nothing_init;
    type.append = nothing_append;
    type.finalize = nothing_finalize;
    assert_int_equal(procreact_command_set_stdout(c, PROCREACT_OUTPUT_DISCARD, -1), 0);
    f = procreact_command_spawn(c, type);
    procreact_command_free(c);
    assert_true(f.pid > 0);
    assert_int_equal(f.fd, -1); /* nothing captured */
    r = procreact_future_get_with_info(&f, &status, &info);
    assert_non_null(r);
    free(r);
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(info.exit_code, 5);
}

static void test_spawn_destroy_kills(void **state)
{
    const char *argv[] = {"sleep", "30", NULL};
    ProcReact_Command *c = procreact_command_new(argv);
    ProcReact_Future f;
    int before = t_count_fds();
    (void)state;
    f = procreact_command_spawn(c, procreact_create_string_type());
    assert_true(f.pid > 0);
    procreact_destroy_future(&f);
    assert_true(t_no_children());
    assert_int_equal(t_count_fds(), before);
    procreact_command_free(c);
}

/* ---------------------------------------------------------------- threads */

typedef struct {
    int id, count, right;
} ThreadWork;

static void *spawn_thread(void *arg)
{
    ThreadWork *w = (ThreadWork *)arg;
    int i;
    for (i = 0; i < w->count; ++i) {
        char word[32], want[40];
        const char *argv[] = {"/bin/echo", word, NULL};
        ProcReact_Command *c;
        ProcReact_Future f;
        ProcReact_Status status;
        char *out;
        snprintf(word, sizeof word, "t%d-%d", w->id, i);
        snprintf(want, sizeof want, "%s\n", word);
        c = procreact_command_new(argv);
        f = procreact_command_spawn(c, procreact_create_string_type());
        procreact_command_free(c);
        out = (char *)procreact_future_get(&f, &status);
        if (status == PROCREACT_STATUS_OK && out != NULL && strcmp(out, want) == 0)
            ++w->right;
        free(out);
    }
    return NULL;
}

static void test_spawn_from_eight_threads(void **state)
{
    pthread_t threads[8];
    ThreadWork work[8];
    const int count = t_under_valgrind() ? 20 : 500;
    int i;
    (void)state;
    for (i = 0; i < 8; ++i) {
        work[i].id = i;
        work[i].count = count;
        work[i].right = 0;
        assert_int_equal(pthread_create(&threads[i], NULL, spawn_thread, &work[i]), 0);
    }
    for (i = 0; i < 8; ++i) {
        pthread_join(threads[i], NULL);
        assert_int_equal(work[i].right, count);
    }
    assert_true(t_no_children());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_argv_and_path),
        cmocka_unit_test(test_spawn_path_from_command_env),
        cmocka_unit_test(test_spawn_path_without_path_in_env),
        cmocka_unit_test(test_spawn_exec_errors_from_the_child),
        cmocka_unit_test(test_spawn_with_no_descriptor_left),
        cmocka_unit_test(test_spawn_environment),
        cmocka_unit_test(test_spawn_empty_environment),
        cmocka_unit_test(test_spawn_cwd),
        cmocka_unit_test(test_spawn_relative_program_in_cwd),
        cmocka_unit_test(test_spawn_new_process_group),
        cmocka_unit_test(test_spawn_signals_reset),
        cmocka_unit_test(test_spawn_closes_application_descriptors),
        cmocka_unit_test(test_spawn_streams_to_and_from_descriptors),
        cmocka_unit_test(test_spawn_stdin_null_and_inherit),
        cmocka_unit_test(test_spawn_null_stdin_after_closing_all),
        cmocka_unit_test(test_spawn_stderr_modes),
        cmocka_unit_test(test_spawn_exit_details),
        cmocka_unit_test(test_spawn_bad_input),
        cmocka_unit_test(test_spawn_64_mib_on_all_streams),
        cmocka_unit_test(test_spawn_in_iterator),
        cmocka_unit_test(test_spawn_custom_type_without_capture),
        cmocka_unit_test(test_spawn_destroy_kills),
        cmocka_unit_test(test_spawn_from_eight_threads),
    };
    return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
