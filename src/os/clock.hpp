// SPDX-License-Identifier: MIT
//
// Time: the monotonic clock, timeouts for poll()-style waits retried on
// EINTR, conversions of public seconds, and timerfds.
#pragma once

#include <cerrno>
#include <climits>

#include "fd.hpp"

namespace procreact
{

constexpr long long kNsPerMs = 1000LL * 1000;
constexpr long long kNsPerSecond = 1000LL * kNsPerMs;
/// "Never" in practice (about 292 years): sums saturate here.
constexpr long long kNsNever = 9000000000000000000LL;

/// CLOCK_MONOTONIC in nanoseconds.
long long monotonic_ns() noexcept;

/// CLOCK_MONOTONIC_COARSE in nanoseconds (cheap, a few ms of resolution).
long long coarse_ns() noexcept;

/// @p a + @p b for non-negative values, saturating at kNsNever.
inline long long add_saturating(long long a, long long b) noexcept
{
    return (b > kNsNever - a) ? kNsNever : a + b;
}

/// Converts a public number of seconds. Returns false for NaN; a negative
/// value is "none" (@p ns = -1); large values saturate.
bool seconds_to_ns(double seconds, long long *ns) noexcept;

/// Milliseconds from @p now until @p due, rounded up, for poll() (-1: no due time).
int ms_until(long long due, long long now) noexcept;

/// Milliseconds left of a timeout started at construction (-1: none).
class Deadline
{
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
template <typename Wait> int wait_retry(int timeout_ms, Wait &&wait) noexcept
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

/// A timerfd (CLOCK_MONOTONIC, non-blocking, close-on-exec, above fd 2).
UniqueFd make_timer() noexcept;

/// Arms @p timerfd to fire at @p due (CLOCK_MONOTONIC; 0 disarms).
void arm_timer(int timerfd, long long due) noexcept;

/// Reads whatever a non-blocking eventfd or timerfd holds.
void drain(int fd) noexcept;

} // namespace procreact
