/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_spawn.h
 * @brief Run programs as futures, with no caller code in the child.
 *
 * @defgroup Spawn Spawning programs
 * @brief Describe a program once (arguments, environment, directory,
 *        standard streams, descriptors), then spawn it as a
 *        ProcReact_Future: procreact_future_get(), procreact_destroy_future()
 *        and both future-iterator drivers work on it unchanged.
 *
 * The child is started with `clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD)`
 * straight into `execve()` (Linux 5.9 and later on x86-64 and AArch64;
 * elsewhere, or with `PROCREACT_NO_CLONE_EXEC=1` in the environment, with
 * `posix_spawn()`, which glibc starts the same way): no copy of the
 * parent's page tables, so the cost does not grow with the parent's memory,
 * and no caller code runs in the child. In the child, every signal disposition is the default,
 * the signal mask is empty, and exactly standard input, output, error and
 * the descriptors named with procreact_command_pass_fd() are open: every
 * other descriptor, the application's included, is closed, so a spawned
 * program never holds a pipe end of anybody.
 *
 * Captured standard output is decoded by the future's ProcReact_Type,
 * exactly like a forked future's pipe. Captured standard error comes back as
 * bytes in ProcReact_ExitInfo (procreact_exit.h). Standard input given as
 * bytes is written by the library as the child reads. All pipes are served
 * together, so no size of input or output can deadlock.
 *
 * A command is not changed by spawning: it may be spawned any number of
 * times, from several threads at once, as long as nobody changes it
 * meanwhile.
 *
 * `/dev/null` (the default standard input, or a discarded output) is opened
 * by the child itself, as it starts: the library keeps no descriptor for it,
 * so an application that closes descriptors (every one above 2, say) can
 * never make a program read or write one of its own files or pipes instead.
 * @{
 */
#ifndef PROCREACT_SPAWN_H
#define PROCREACT_SPAWN_H

#include <stddef.h>

#include "procreact_exit.h"
#include "procreact_future.h"
#include "procreact_types.h"
#include "procreact_util.h"

PROCREACT_BEGIN_DECLS

/** @brief A program to run and how: opaque, made by procreact_command_new(). */
typedef struct ProcReact_Command ProcReact_Command;

/** @brief Where a spawned program's standard input comes from. */
typedef enum {
    PROCREACT_STDIN_NULL,    /**< `/dev/null` (the default) */
    PROCREACT_STDIN_INHERIT, /**< the parent's standard input */
    PROCREACT_STDIN_FD,      /**< a descriptor of the caller's */
    PROCREACT_STDIN_BYTES    /**< bytes written by the library (procreact_command_set_stdin_bytes()) */
} ProcReact_StdinMode;

/** @brief Where a spawned program's standard output or error goes. */
typedef enum {
    PROCREACT_OUTPUT_CAPTURE, /**< a pipe read by the library (stdout's default) */
    PROCREACT_OUTPUT_INHERIT, /**< the parent's own (stderr's default) */
    PROCREACT_OUTPUT_DISCARD, /**< `/dev/null` */
    PROCREACT_OUTPUT_FD,      /**< a descriptor of the caller's */
    PROCREACT_OUTPUT_MERGE    /**< stderr only: wherever stdout goes */
} ProcReact_OutputMode;

/**
 * @brief Makes a command that runs @p argv.
 *
 * @p argv is a NULL-terminated array; it is copied. `argv[0]` names the
 * program: with a slash it is a path, otherwise it is looked up as
 * `execvp()` in the program would look it up: in the `PATH` of the
 * program's environment (the parent's `PATH` when the environment is
 * inherited, the command's own when it sets one), and in `/bin:/usr/bin`
 * when that environment has no `PATH` (after procreact_command_clear_env()
 * or procreact_command_unset_env() of `PATH`): the parent's `PATH` is then
 * not used, as with Python's `subprocess` (`os.defpath`).
 *
 * @return A new command, freed with procreact_command_free(); NULL with
 *         errno EINVAL when @p argv is NULL, empty or `argv[0]` is empty,
 *         ENOMEM when out of memory.
 */
PROCREACT_API ProcReact_Command *procreact_command_new(const char *const *argv) PROCREACT_NOEXCEPT;

/** @brief Frees a command (NULL is allowed). Futures spawned from it are not affected. */
PROCREACT_API void procreact_command_free(ProcReact_Command *command) PROCREACT_NOEXCEPT;

/**
 * @brief Runs the program in @p directory (NULL: the parent's).
 * @return 0, or -1 with errno EINVAL (NULL command, empty directory) or
 *         ENOMEM. Whether the directory exists is checked at spawn time.
 */
PROCREACT_API int procreact_command_set_cwd(ProcReact_Command *command, const char *directory) PROCREACT_NOEXCEPT;

/**
 * @brief Starts the program's environment empty instead of from the parent's.
 * Later procreact_command_set_env() calls add to it. Without a `PATH` among
 * them the program is looked up in `/bin:/usr/bin` (see procreact_command_new()).
 * @return 0, or -1 with errno EINVAL for a NULL command.
 */
PROCREACT_API int procreact_command_clear_env(ProcReact_Command *command) PROCREACT_NOEXCEPT;

/**
 * @brief Sets @p name to @p value in the program's environment.
 * @return 0, or -1 with errno EINVAL (NULL argument, empty @p name, `=` in
 *         @p name) or ENOMEM.
 */
PROCREACT_API int procreact_command_set_env(ProcReact_Command *command, const char *name,
                                           const char *value) PROCREACT_NOEXCEPT;

/**
 * @brief Removes @p name from the program's environment.
 * @return 0, or -1 with errno EINVAL (NULL argument, empty @p name, `=` in
 *         @p name) or ENOMEM.
 */
PROCREACT_API int procreact_command_unset_env(ProcReact_Command *command, const char *name) PROCREACT_NOEXCEPT;

/**
 * @brief Sets an environment entry given as `NAME=VALUE`.
 * @return 0, or -1 with errno EINVAL (NULL argument, no `=`, empty name) or ENOMEM.
 */
PROCREACT_API int procreact_command_put_env(ProcReact_Command *command, const char *entry) PROCREACT_NOEXCEPT;

/**
 * @brief Runs the program in a new process group of its own (its pid is the
 *        group id), so that it and its descendants can be signalled together.
 * @return 0, or -1 with errno EINVAL for a NULL command.
 */
PROCREACT_API int procreact_command_set_new_process_group(ProcReact_Command *command,
                                                         ProcReact_bool enable) PROCREACT_NOEXCEPT;

/**
 * @brief Lets the program inherit descriptor @p fd, at the same number.
 * @return 0, or -1 with errno EINVAL (NULL command, @p fd below 3: use the
 *         standard stream setters), ENOMEM. Whether @p fd is open is
 *         checked at spawn time (EBADF).
 */
PROCREACT_API int procreact_command_pass_fd(ProcReact_Command *command, int fd) PROCREACT_NOEXCEPT;

/**
 * @brief Chooses the program's standard input: #PROCREACT_STDIN_NULL,
 *        #PROCREACT_STDIN_INHERIT or #PROCREACT_STDIN_FD (with @p fd, which
 *        stays the caller's; it must be open at spawn time).
 * @return 0, or -1 with errno EINVAL (NULL command, unknown mode, negative
 *         @p fd for #PROCREACT_STDIN_FD, #PROCREACT_STDIN_BYTES: use
 *         procreact_command_set_stdin_bytes()).
 */
PROCREACT_API int procreact_command_set_stdin(ProcReact_Command *command, ProcReact_StdinMode mode,
                                             int fd) PROCREACT_NOEXCEPT;

/**
 * @brief Feeds @p length bytes at @p data (copied) to the program's
 *        standard input, then end of input.
 *
 * The library writes them as the program reads, while it serves the
 * program's output: any size works. A program that exits without reading
 * them all is not an error.
 * @return 0, or -1 with errno EINVAL (NULL command, NULL @p data with a
 *         non-zero @p length) or ENOMEM.
 */
PROCREACT_API int procreact_command_set_stdin_bytes(ProcReact_Command *command, const void *data,
                                                   size_t length) PROCREACT_NOEXCEPT;

/**
 * @brief Chooses where standard output goes: #PROCREACT_OUTPUT_CAPTURE (the
 *        default: decoded by the future's type), #PROCREACT_OUTPUT_INHERIT,
 *        #PROCREACT_OUTPUT_DISCARD or #PROCREACT_OUTPUT_FD (with @p fd, which
 *        stays the caller's). When it is not captured, the type sees no
 *        bytes (a string type gives "" for a program that exits with 0).
 * @return 0, or -1 with errno EINVAL (NULL command, unknown mode,
 *         #PROCREACT_OUTPUT_MERGE, negative @p fd for #PROCREACT_OUTPUT_FD).
 */
PROCREACT_API int procreact_command_set_stdout(ProcReact_Command *command, ProcReact_OutputMode mode,
                                              int fd) PROCREACT_NOEXCEPT;

/**
 * @brief Chooses where standard error goes: #PROCREACT_OUTPUT_INHERIT (the
 *        default), #PROCREACT_OUTPUT_CAPTURE (as bytes in
 *        ProcReact_ExitInfo::stderr_data), #PROCREACT_OUTPUT_DISCARD,
 *        #PROCREACT_OUTPUT_FD (with @p fd) or #PROCREACT_OUTPUT_MERGE
 *        (wherever standard output goes, captured with it when it is).
 * @return 0, or -1 with errno EINVAL (NULL command, unknown mode, negative
 *         @p fd for #PROCREACT_OUTPUT_FD).
 */
PROCREACT_API int procreact_command_set_stderr(ProcReact_Command *command, ProcReact_OutputMode mode,
                                              int fd) PROCREACT_NOEXCEPT;

/**
 * @brief Spawns @p command as a future whose output @p type decodes.
 *
 * The future is an ordinary ProcReact_Future: get it with
 * procreact_future_get() or procreact_future_get_with_info(), destroy it
 * with procreact_destroy_future(), or return it from a future iterator's
 * `next`. Its `pid` is the program's; its `fd` is the read end of the
 * captured standard output, or -1 when standard output is not captured
 * (the library's to read: never read or close it yourself). The result
 * belongs to the caller, as for any future.
 *
 * When the program cannot be started, no child exists and nothing leaks:
 * the future has `pid` -1, is finished with #PROCREACT_STATUS_FORK_FAIL
 * (procreact_future_get() returns NULL), errno tells why, and the same errno
 * is its ProcReact_ExitInfo::exec_errno:
 * - EINVAL: NULL command, or a type without `append` or `finalize`;
 * - ENOENT: the program is not found (or not in `PATH`), or the working
 *   directory does not exist; ENOTDIR: a path component is not a directory;
 * - EACCES: the program or the directory is not accessible or executable;
 *   ENOEXEC and other `execve()` errors as the system reports them;
 * - EBADF: a descriptor given for a standard stream or to pass is not open;
 * - EMFILE, ENFILE, EAGAIN, ENOMEM: out of descriptors, processes or memory.
 *
 * Safe to call from several threads at once.
 */
PROCREACT_API ProcReact_Future procreact_command_spawn(const ProcReact_Command *command,
                                                      ProcReact_Type type) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_SPAWN_H */

/** @} */
