/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_signal.h
 * @brief The main-loop step: collect finished children without blocking.
 *
 * @defgroup Signal Main-loop completion
 * @brief Register the SIGCHLD handler and complete finished children from a
 *        program's own loop.
 * @{
 */
#ifndef PROCREACT_SIGNAL_H
#define PROCREACT_SIGNAL_H

#include "procreact_pid_iterator.h"
#include "procreact_util.h"

PROCREACT_BEGIN_DECLS

/**
 * @brief Installs the library's SIGCHLD handler.
 *
 * The handler is `SA_RESTART | SA_NOCLDSTOP`, only counts notifications and
 * then calls the handler the application had installed before (if any), so
 * the application's own SIGCHLD handling keeps working. Calling it again does
 * nothing more. procreact_complete_all_finished_processes() does not depend
 * on it: the library watches its children through process descriptors (with
 * it installed, that function costs no system call when nothing finished).
 *
 * One thing the handler does take away: if the application had SIGCHLD set
 * to `SIG_IGN` (the kernel then reaps every child at once, and nobody can
 * learn an exit status), installing the handler ends that automatic reaping,
 * since the library needs its children's statuses. The application's own
 * children then stay zombies until it waits for them (with `waitpid()` for
 * their pids). libprocreact 0.1 did the same, silently.
 *
 * @return 0 on success, -1 with errno set when `sigaction()` fails.
 */
PROCREACT_API int procreact_register_signal_handler(void) PROCREACT_NOEXCEPT;

/**
 * @brief Completes every child of @p iterator that has finished, without blocking.
 *
 * Calls @c complete for each finished child of this iterator and returns;
 * children of other iterators are left to them. NULL is allowed.
 */
PROCREACT_API void procreact_complete_all_finished_processes(ProcReact_PidIterator *iterator) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_SIGNAL_H */

/** @} */
