// SPDX-License-Identifier: MIT
//
// Time: clocks, conversions and timerfds.
#include "clock.hpp"

#include <cmath>
#include <cstdint>

#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

namespace procreact
{
namespace
{

long long read_clock(clockid_t id) noexcept
{
    struct timespec now {
    };
    ::clock_gettime(id, &now);
    return static_cast<long long>(now.tv_sec) * kNsPerSecond + now.tv_nsec;
}

} // namespace

long long monotonic_ns() noexcept
{
    return read_clock(CLOCK_MONOTONIC);
}

long long coarse_ns() noexcept
{
    return read_clock(CLOCK_MONOTONIC_COARSE);
}

bool seconds_to_ns(double seconds, long long *ns) noexcept
{
    if (std::isnan(seconds))
        return false;
    if (seconds < 0) {
        *ns = -1;
        return true;
    }
    const double value = seconds * 1e9;
    *ns = value >= static_cast<double>(kNsNever) ? kNsNever : static_cast<long long>(value);
    return true;
}

int ms_until(long long due, long long now) noexcept
{
    if (due == 0)
        return -1;
    if (due <= now)
        return 0;
    const long long ms = (due - now + kNsPerMs - 1) / kNsPerMs;
    return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

Deadline::Deadline(int timeout_ms) noexcept : timeout_ms_(timeout_ms)
{
    if (timeout_ms_ > 0)
        start_ns_ = monotonic_ns();
}

int Deadline::remaining_ms() const noexcept
{
    if (timeout_ms_ <= 0)
        return timeout_ms_ < 0 ? -1 : 0;
    const long long elapsed_ms = (monotonic_ns() - start_ns_) / kNsPerMs;
    return elapsed_ms >= timeout_ms_ ? 0 : timeout_ms_ - static_cast<int>(elapsed_ms);
}

UniqueFd make_timer() noexcept
{
    return UniqueFd(move_above_stdio(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)));
}

void arm_timer(int timerfd, long long due) noexcept
{
    struct itimerspec spec {
    };
    if (due > 0) {
        spec.it_value.tv_sec = static_cast<time_t>(due / kNsPerSecond);
        spec.it_value.tv_nsec = static_cast<long>(due % kNsPerSecond);
    }
    ::timerfd_settime(timerfd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void drain(int fd) noexcept
{
    std::uint64_t value;
    while (::read(fd, &value, sizeof value) < 0 && errno == EINTR)
        ;
}

} // namespace procreact
