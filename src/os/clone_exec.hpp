// SPDX-License-Identifier: MIT
//
// The program launcher of our own: clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD)
// straight into execve(), with only async-signal-safe system calls between.
//
// The child shares the parent's memory and runs on a stack of the calling
// thread's own (made once per thread) while that thread waits: it resets
// every signal to SIG_DFL, sets up descriptors 0-2, keeps the passed
// descriptors, closes every other one (close_range), changes directory,
// empties its signal mask and executes the program, trying each candidate
// path in turn (the PATH search of execvp()). An error is written into the
// plan, which the parent reads once the clone returns; the pidfd, where the
// plan asks for one, comes from the clone itself. Only for programs: never for children that run code of
// the caller's.
#pragma once

#include <cstddef>

#include <sys/types.h>

#include "fd.hpp"

namespace procreact
{

/// A descriptor that the child opens on /dev/null itself.
constexpr int kChildDevNull = -2;

/// Everything the child does, prepared by the parent (no allocation after).
struct ChildPlan {
    const char *path = nullptr;   ///< the program to execute, if known (else searched)
    const char *file = nullptr;   ///< the program's name, looked for in each directory of search
    const char *search = nullptr; ///< PATH's value: directories separated by ':' (empty: ".")
    char *const *argv = nullptr;
    char *const *envp = nullptr;
    int sources[3] = {-1, -1, -1}; ///< dup2 onto 0, 1, 2; -1 leaves it; kChildDevNull opens /dev/null
    bool merge_stderr = false;     ///< stderr becomes a copy of stdout (after stdout is set up)
    int move_source = -1;          ///< dup2'ed onto move_target after 0-2 (a channel's end); -1: none
    int move_target = -1;
    const int *pass = nullptr;     ///< sorted, unique, all above 2: kept open (close-on-exec cleared)
    std::size_t pass_count = 0;
    const char *cwd = nullptr;
    bool new_group = false;
    bool want_pidfd = true;        ///< the clone makes the child's pidfd (CLONE_PIDFD)
    // Written by the child:
    volatile int started = 0; ///< 1 once the child runs: its memory is ours
    volatile int error = 0;   ///< the errno of the step that failed
};

/// Whether the launcher works here (Linux with CLONE_PIDFD and close_range,
/// on an architecture it knows, and not switched off with
/// PROCREACT_NO_CLONE_EXEC=1). Decided once; a failed clone can switch it off.
bool clone_exec_enabled() noexcept;

/// Whether a launch has shown that the child's errors reach the parent
/// (under valgrind, for one, the child is a copy and they do not).
bool clone_exec_verified() noexcept;

/// Runs @p plan. Returns 0 with @p pid and @p pidfd set, an errno value with
/// no child left (a child that failed is reaped), or -1 when the launcher
/// cannot start this one (nothing started: use posix_spawn()), because it
/// does not work here or no descriptor is left for the pidfd.
int clone_exec(ChildPlan &plan, pid_t &pid, UniqueFd &pidfd) noexcept;

} // namespace procreact
