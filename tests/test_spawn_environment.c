/* SPDX-License-Identifier: MIT */
/*
 * procreact_spawn.h: what a spawned program starts with. Its environment
 * (edited, or cleared and set anew), its working directory (a relative
 * program path included), a process group of its own, and signal
 * dispositions and mask back to the defaults.
 */
#include "spawn_run.h"

#include <pthread.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_environment),
        cmocka_unit_test(test_spawn_empty_environment),
        cmocka_unit_test(test_spawn_cwd),
        cmocka_unit_test(test_spawn_relative_program_in_cwd),
        cmocka_unit_test(test_spawn_new_process_group),
        cmocka_unit_test(test_spawn_signals_reset),
    };
    return cmocka_run_group_tests_name("spawn_environment", tests, NULL, NULL);
}
