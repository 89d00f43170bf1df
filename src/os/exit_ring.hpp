// SPDX-License-Identifier: MIT
//
// ExitRing: children's exits watched through one io_uring instance
// (IORING_OP_WAITID, Linux 6.7 and later) instead of a pidfd per child.
//
// A pidfd is a file: made at the clone, added to an epoll set, closed after
// the reap, it costs the parent several microseconds per program (pidfs
// inode, dentry and file, their security hooks, the epoll item). A collection
// that waits on descriptors (a main loop's, or streams and timers beside the
// exits) needs some descriptor to say "a child exited"; this ring is one for
// all of them. watch() queues waitid(P_PID, pid, WEXITED | WNOWAIT) with a
// token and submits it (one io_uring_enter, which may carry several); when
// that child exits,
// the kernel posts a completion with the token and the ring's descriptor
// becomes readable. Nothing is reaped (WNOWAIT) and no siginfo is written
// (the token says whose exit it was): the owner reaps by pid, as before.
//
// A completion may outlive what it was for: a child reaped or taken out of
// its collection before it exited still completes its wait (its exit, or
// ECHILD), with a token that its owner no longer knows and ignores. A wait
// whose submitting thread has exited completes with ECANCELED: its owner
// watches again from the thread it runs on.
//
// Where the kernel lacks the ring or the operation, or forbids io_uring
// (sysctl kernel.io_uring_disabled, seccomp), open() fails and the owner
// keeps pidfds. PROCREACT_NO_EXIT_RING=1 in the environment (and
// PROCREACT_NO_PIDFD=1, the old kernels' fallback) does the same.
#pragma once

#include <cstddef>
#include <cstdint>

#include <sys/types.h>

#include "fd.hpp"

namespace procreact
{

class ExitRing
{
  public:
    ExitRing() noexcept = default;
    /// Unmaps the rings and closes the descriptor (the kernel cancels the
    /// waits still pending: they reference no memory of ours).
    ~ExitRing();
    ExitRing(const ExitRing &) = delete;
    ExitRing &operator=(const ExitRing &) = delete;

    /// Sets the ring up; false (nothing held) where it cannot be had here.
    bool open() noexcept;
    bool valid() const noexcept { return fd_.valid(); }
    /// Readable while completions wait to be taken with next().
    int fd() const noexcept { return fd_.get(); }

    /// Watches @p pid's exit, reported with @p token: queue(), then
    /// submit(). False with errno set when the wait cannot be submitted
    /// (the ring should not be used any more).
    bool watch(pid_t pid, std::uint64_t token) noexcept { return queue(pid, token) && submit(); }
    /// Queues that wait without a system call; false while the submission
    /// ring is full (submit() first).
    bool queue(pid_t pid, std::uint64_t token) noexcept;
    /// Hands every queued wait to the kernel (one io_uring_enter). False
    /// with errno set when it takes not all of them.
    bool submit() noexcept;

    /// The next completion: its token and its result (0: the child exited
    /// and waits to be reaped; otherwise -errno: ECHILD, no such child any
    /// more; ECANCELED, watch again). False when there is none now.
    bool next(std::uint64_t &token, int &result) noexcept;

  private:
    bool map_rings(std::size_t sq_bytes, std::size_t cq_bytes, bool single_map) noexcept;
    void unmap() noexcept;
    bool flush_overflow() noexcept;

    UniqueFd fd_;
    void *sq_map_ = nullptr; // the submission ring (and the completion ring, with one mapping)
    std::size_t sq_map_bytes_ = 0;
    void *cq_map_ = nullptr; // the completion ring, where it is mapped on its own
    std::size_t cq_map_bytes_ = 0;
    void *sqes_ = nullptr; // the submission entries
    std::size_t sqes_bytes_ = 0;
    // Pointers into the mappings.
    unsigned *sq_tail_ = nullptr;
    unsigned *sq_mask_ = nullptr;
    unsigned *sq_flags_ = nullptr;
    unsigned *sq_array_ = nullptr;
    unsigned *cq_head_ = nullptr;
    unsigned *cq_tail_ = nullptr;
    unsigned *cq_mask_ = nullptr;
    void *cqes_ = nullptr;
    unsigned queued_ = 0; // waits queued since the last submit()
};

} // namespace procreact
