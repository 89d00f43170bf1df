// SPDX-License-Identifier: MIT
//
// Watching and reaping one child process without touching anybody else's.
//
// A pid is owned by at most one watch at a time: every watch claims its pid
// in a process-wide table, so a pid that a collection is handed twice (a
// `next` that returns the same child again) is recognised as a duplicate
// instead of being waited for twice.
//
// With a pidfd (Linux 5.3+) the child is watched through a descriptor that
// becomes readable when it exits, and reaped with waitid(P_PIDFD), which can
// only ever reap that very process. Where pidfd_open() is unavailable (ENOSYS
// on old kernels, EPERM under some seccomp filters), disabled with the
// environment variable PROCREACT_NO_PIDFD=1, or where the descriptor budget is
// spent (see ChildWatch::Pidfd::Budgeted), waitid(P_PID, pid, WNOWAIT) looks
// and waitid(P_PID, pid) reaps: still only the given pid, never "any child".
#pragma once

#include <cerrno>
#include <utility>

#include <sys/resource.h>
#include <sys/types.h>

#include "clock.hpp"
#include "fd.hpp"

namespace procreact
{

/// Whether new children are watched through pidfds.
bool pidfd_enabled() noexcept;

/// Rebuilds a waitpid()-style status from what waitid() reported.
int wstatus_from_waitid(int code, int child_status) noexcept;

/// waitpid(pid, ..., options) retried on EINTR. Returns what waitpid returns.
pid_t waitpid_retry(pid_t pid, int *wstatus, int options) noexcept;

/// poll() on one descriptor for readability, retried on EINTR with the
/// remaining time. Returns 1 when readable/hung up, 0 on timeout, -1 on error.
int poll_readable(int fd, int timeout_ms) noexcept;

/// How a child ended, as reaped.
struct ExitRecord {
    int wstatus = 0;
    struct rusage usage {
    };
};

/// Owns one child of this process: unless released or reaped, destroying
/// the watch kills the child and reaps it, so that no path leaves a zombie.
class ChildWatch
{
  public:
    /// Whether to watch through a pidfd.
    enum class Pidfd {
        Now,      ///< open one now where pidfds are enabled
        Later,    ///< none yet: ensure_pidfd() opens one where it is needed
        Budgeted, ///< open one now, unless the library already holds its share of descriptors
        Spawn,    ///< at spawn, next to a pipe: open one unless a quarter of the share is held
    };

    ChildWatch() noexcept = default;
    /// Starts owning @p pid, which must be an unreaped child of this process,
    /// unless another watch owns it already: then this one owns nothing and
    /// duplicate() says so. Never call it with the table lock held.
    explicit ChildWatch(pid_t pid, Pidfd pidfd = Pidfd::Now) noexcept;
    /// As above, for a child that came with @p pidfd (a clone with
    /// CLONE_PIDFD): it is kept where Pidfd::Spawn would open one, else closed.
    ChildWatch(pid_t pid, UniqueFd pidfd) noexcept;
    /// Kills and reaps an owned child. Never with the table lock held.
    ~ChildWatch() { kill_and_reap(); }

    ChildWatch(ChildWatch &&other) noexcept
        : pid_(other.pid_), claimed_(other.claimed_), duplicate_(other.duplicate_), pidfd_(std::move(other.pidfd_))
    {
        other.pid_ = -1;
        other.claimed_ = false;
    }
    ChildWatch &operator=(ChildWatch &&other) noexcept;
    ChildWatch(const ChildWatch &) = delete;
    ChildWatch &operator=(const ChildWatch &) = delete;

    /// Opens the pidfd if there is none yet and pidfds are enabled (and,
    /// with @p budgeted, the library's share of descriptors allows it). Only
    /// valid while the child is unreaped. Returns whether there is a pidfd.
    bool ensure_pidfd(bool budgeted = false) noexcept;
    /// Closes the pidfd; the child is then watched by pid alone. Only for a
    /// child known to have exited and not been reaped (a zombie keeps its pid).
    void drop_pidfd() noexcept;

    pid_t pid() const noexcept { return pid_; }
    bool owns() const noexcept { return pid_ > 0; }
    /// The pid was owned by another watch already (this one owns nothing).
    bool duplicate() const noexcept { return duplicate_; }
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

    /// Reaps the child, with its resource usage. Returns 1 with @p record set
    /// when reaped, 0 when @p block is false and it still runs, -1 (errno set)
    /// when it cannot be reaped (ECHILD: somebody else reaped it). After 1 or
    /// -1 the watch owns nothing.
    int reap(ExitRecord *record, bool block) noexcept;

    /// How the child ended, without reaping it. Returns 1 with @p record
    /// set when it has exited, 0 while it runs, -1 when it cannot be waited for.
    int peek(ExitRecord *record) const noexcept;

    /// Sends @p signo if the child still runs. Never signals a recycled pid:
    /// with a pidfd the signal goes to that very process, without one only to
    /// a child that is not yet reaped (whose pid cannot have been reused).
    void signal(int signo) const noexcept;

    /// SIGKILL, then reap. The watch owns nothing afterwards.
    void kill_and_reap() noexcept;

    /// Stops owning the child without reaping it (somebody else will).
    void release() noexcept;

  private:
    void close_pidfd() noexcept;

    pid_t pid_ = -1;
    bool claimed_ = false;   // listed in the table of owned pids
    bool duplicate_ = false; // another watch owned the pid
    UniqueFd pidfd_;
};

/// Hands over a child that nobody will wait for (a custom finalize left it
/// running, or its iterator was abandoned; os/child_reaper.cpp): reap_leftovers() reaps it once it
/// has ended, without blocking and without telling anybody.
void hand_to_reaper(ChildWatch &&child) noexcept;

/// Reaps the handed-over children that have ended. Cheap when there are
/// none; called from the library's entry points.
void reap_leftovers() noexcept;

} // namespace procreact
