// SPDX-License-Identifier: MIT
//
// Watching and reaping one child process without touching anybody else's.
//
// With a pidfd (Linux 5.3+) the child is watched through a descriptor that
// becomes readable when it exits, and reaped with waitid(P_PIDFD), which can
// only ever reap that very process. Where pidfd_open() is unavailable (ENOSYS
// on old kernels, EPERM under some seccomp filters) or disabled with the
// environment variable PROCREACT_NO_PIDFD=1, the fallback uses
// waitid(P_PID, pid, WNOWAIT) to look and waitpid(pid) to reap: still only
// the given pid, never "any child".
#pragma once

#include <cerrno>

#include <sys/types.h>

#include "fd.hpp"

namespace procreact {

/// Whether new children are watched through pidfds.
bool pidfd_enabled() noexcept;

/// Rebuilds a waitpid()-style status from what waitid() reported.
int wstatus_from_waitid(int code, int child_status) noexcept;

/// waitpid(pid, ..., options) retried on EINTR. Returns what waitpid returns.
pid_t waitpid_retry(pid_t pid, int *wstatus, int options) noexcept;

/// Milliseconds left of a timeout started at construction (-1: none).
class Deadline {
public:
    explicit Deadline(int timeout_ms) noexcept;
    /// What is left, never below 0; -1 when there is no timeout.
    int remaining_ms() const noexcept;

private:
    int timeout_ms_;
    long long start_ns_ = 0;
};

/// Runs a timed wait such as poll() or epoll_wait(): @p wait is called with a
/// timeout in milliseconds. An EINTR restarts it with what is left of
/// @p timeout_ms (never the full timeout again, or a storm of signals would
/// keep it waiting forever); once nothing is left it returns 0.
template <typename Wait>
int wait_retry(int timeout_ms, Wait &&wait) noexcept
{
    const Deadline deadline(timeout_ms);
    int timeout = timeout_ms;
    for (;;) {
        const int r = wait(timeout);
        if (r >= 0 || errno != EINTR)
            return r;
        timeout = deadline.remaining_ms();
        if (timeout == 0)
            return 0;
    }
}

/// poll() on one descriptor for readability, retried on EINTR with the
/// remaining time. Returns 1 when readable/hung up, 0 on timeout, -1 on error.
int poll_readable(int fd, int timeout_ms) noexcept;

/// A child of this process, watched by pid and (where possible) pidfd.
class ChildWatch {
public:
    ChildWatch() noexcept = default;
    /// Starts watching @p pid. Never fails: without a pidfd the fallback is
    /// used. With @p open_pidfd false the pidfd is opened later, by
    /// ensure_pidfd(), only where it is needed.
    explicit ChildWatch(pid_t pid, bool open_pidfd = true) noexcept;

    /// Opens the pidfd if there is none yet and pidfds are enabled. Only
    /// valid while the child is unreaped (so that its pid cannot have been
    /// recycled). Returns whether there is a pidfd.
    bool ensure_pidfd() noexcept;

    ChildWatch(ChildWatch &&) noexcept = default;
    ChildWatch &operator=(ChildWatch &&) noexcept = default;

    pid_t pid() const noexcept { return pid_; }
    /// The pidfd, or -1 in fallback mode.
    int pidfd() const noexcept { return pidfd_.get(); }

    /// Whether the process is a child of this process that has not been reaped.
    /// Returns false (errno ECHILD) for a foreign or already reaped process.
    bool is_our_child() const noexcept;

    /// Whether the child has exited (without reaping it). Never blocks.
    /// A process that cannot be waited for counts as exited.
    bool has_exited() const noexcept;

    /// Blocks until the child has exited, without reaping it.
    void wait_exited() const noexcept;

    /// Reaps the child. Returns 1 with @p wstatus set when reaped, 0 when
    /// @p block is false and it still runs, -1 (errno set) when it cannot be
    /// reaped (ECHILD: somebody else reaped it already).
    int reap(int *wstatus, bool block) noexcept;

    /// Sends SIGKILL if it still runs. Never signals a recycled pid: with a
    /// pidfd the signal goes to that very process, without one only to a
    /// child that is not yet reaped (whose pid cannot have been reused).
    void kill() const noexcept;

    /// kill(), then reap.
    void kill_and_reap() noexcept;

    /// Stops watching without reaping.
    void reset() noexcept
    {
        pid_ = -1;
        pidfd_.reset();
    }

private:
    pid_t pid_ = -1;
    UniqueFd pidfd_;
};

} // namespace procreact
