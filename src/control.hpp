// SPDX-License-Identifier: MIT
//
// Time and control (procreact_control.h): the stop sequence, and how a
// cancellation reaches whoever drives a child.
//
// A child being stopped goes through phases: Running (with an optional
// deadline), Signalled (the stop signal sent, SIGKILL due after the grace
// period), Killed (SIGKILL sent; reading is abandoned a short while later if
// a process outside the child's group still holds its pipe) and Abandoned.
// Each phase but the last has a due time; whoever drives the child (a
// blocking get, an iterator's step) sleeps until the earliest one, with a
// timeout or a timerfd, never polling.
//
// Cancellation may come from any thread. The driver of a child registers
// the child's serial with its Waker (an eventfd in the driver's poll or
// epoll set plus an inbox under the global lock); a cancel finds the Waker
// in the drive table, posts the serial and writes the eventfd, and the
// driver starts the stop sequence itself. A child nobody drives yet (a
// future not collected yet) is signalled by the cancelling thread at once.
#pragma once

#include <atomic>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fd.hpp"
#include "handle.hpp"
#include "process.hpp"

namespace procreact
{

constexpr long long kNsPerMs = 1000LL * 1000;
constexpr long long kNsPerSecond = 1000LL * kNsPerMs;
constexpr long long kDefaultGraceNs = 2 * kNsPerSecond;
/// After SIGKILL, how long a pipe that a process outside the group holds
/// open is still read.
constexpr long long kAbandonAfterNs = 250 * kNsPerMs;

/// How a child is stopped, and when.
struct StopPlan {
    long long deadline_ns = 0; ///< CLOCK_MONOTONIC; 0: none
    int signo = SIGTERM;       ///< the first signal; 0: SIGKILL at once
    long long grace_ns = kDefaultGraceNs;
    std::size_t limit = SIZE_MAX; ///< cap of each captured stream
    bool own_deadline = false;    ///< set on the future itself (iterator defaults do not replace it)
    bool own_stop = false;
};

enum class StopPhase : unsigned char { Running, Signalled, Killed, Abandoned };

/// Where a child is in its stop sequence.
struct StopState {
    StopPhase phase = StopPhase::Running;
    long long next_ns = 0; ///< when the next phase is due (Signalled, Killed)
};

/// When the next step is due for a child that runs under @p plan (0: never).
long long stop_due(const StopPlan &plan, const StopState &state) noexcept;

/// Starts the stop sequence (once; later reasons only add their flag).
void begin_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags, unsigned why,
                long long now) noexcept;

/// Runs what is due at @p now. Returns true when reading must end now.
bool advance_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags,
                  long long now) noexcept;

/// Converts a public number of seconds. Returns false for NaN; a negative
/// value is "none" (@p ns = -1); large values saturate.
bool seconds_to_ns(double seconds, long long *ns) noexcept;

/// Milliseconds from @p now until @p due, rounded up, for poll() (-1: no due time).
int ms_until(long long due, long long now) noexcept;

/// Arms @p timerfd to fire at @p due (CLOCK_MONOTONIC; 0 disarms).
void arm_timer(int timerfd, long long due) noexcept;

/// A timerfd (CLOCK_MONOTONIC, non-blocking, close-on-exec, above fd 2).
UniqueFd make_timer() noexcept;

/// Reads whatever a non-blocking eventfd or timerfd holds.
void drain(int fd) noexcept;

/// Wakes a driver from any thread and tells it what to cancel.
class Waker
{
  public:
    Waker() noexcept;
    Waker(const Waker &) = delete;
    Waker &operator=(const Waker &) = delete;

    bool valid() const noexcept { return fd_.valid(); }
    int fd() const noexcept { return fd_.get(); }

    /// Under the global lock.
    void post(Serial serial) noexcept;
    void post_all() noexcept;

    /// Whether the whole collection is to be cancelled (any thread).
    bool all_requested() const noexcept { return all_.load(std::memory_order_acquire); }

    /// The driver: drains the eventfd and takes the posted serials.
    std::vector<Serial> take() noexcept;
    /// The same, for a driver that holds the global lock already.
    std::vector<Serial> take_locked() noexcept;

  private:
    UniqueFd fd_;
    std::vector<Serial> inbox_;
    std::atomic<bool> all_{false};
};

/// Registers @p serial as driven by @p waker. Under the global lock; returns
/// false when out of memory (the child is then not cancellable through it).
bool drive_register_locked(Serial serial, Waker *waker) noexcept;
void drive_unregister(Serial serial) noexcept;
/// The waker driving @p serial; under the global lock.
Waker *drive_find_locked(Serial serial) noexcept;

} // namespace procreact
