// SPDX-License-Identifier: MIT
#include "control.hpp"

#include "procreact_exit.h"

#include <cerrno>
#include <cmath>
#include <new>
#include <unordered_map>

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace procreact
{
namespace
{

// serial -> the waker of whoever drives that child now. Under the global
// lock; a forked child drops it.
std::unordered_map<Serial, Waker *> *g_driven = nullptr;

void drop_in_child() noexcept
{
    park_in_child(g_driven);
    g_driven = nullptr;
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

// The stop signal goes to the child's whole group when it leads one (it
// asked for a new group, or set it up itself), so that a grandchild holding
// the pipe stops too. Only while the child is unreaped (its pid, and so its
// group id, cannot have been reused).
void send(const ChildWatch &child, int signo) noexcept
{
    if (!child.owns())
        return;
    if (child.is_our_child() && ::getpgid(child.pid()) == child.pid() && ::kill(-child.pid(), signo) == 0)
        return;
    child.signal(signo);
}

void kill_now(const ChildWatch &child, StopState &state, long long now) noexcept
{
    send(child, SIGKILL);
    state.phase = StopPhase::Killed;
    state.next_ns = now + kAbandonAfterNs;
}

} // namespace

long long stop_due(const StopPlan &plan, const StopState &state) noexcept
{
    switch (state.phase) {
    case StopPhase::Running:
        return plan.deadline_ns;
    case StopPhase::Signalled:
    case StopPhase::Killed:
        return state.next_ns;
    case StopPhase::Abandoned:
        break;
    }
    return 0;
}

void begin_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags, unsigned why,
                long long now) noexcept
{
    flags |= why;
    if (state.phase != StopPhase::Running)
        return;
    if (plan.signo == 0 || plan.signo == SIGKILL) {
        kill_now(child, state, now);
        return;
    }
    send(child, plan.signo);
    // SIGCONT too: a stopped child would not act on the signal otherwise.
    send(child, SIGCONT);
    if (plan.grace_ns <= 0) {
        kill_now(child, state, now);
        return;
    }
    state.phase = StopPhase::Signalled;
    state.next_ns = now + plan.grace_ns;
}

bool advance_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags,
                  long long now) noexcept
{
    const long long due = stop_due(plan, state);
    if (due == 0 || now < due)
        return false;
    switch (state.phase) {
    case StopPhase::Running:
        begin_stop(child, plan, state, flags, PROCREACT_EXIT_TIMED_OUT, now);
        return false;
    case StopPhase::Signalled:
        kill_now(child, state, now);
        return false;
    case StopPhase::Killed:
        state.phase = StopPhase::Abandoned;
        state.next_ns = 0;
        return true;
    case StopPhase::Abandoned:
        break;
    }
    return false;
}

bool seconds_to_ns(double seconds, long long *ns) noexcept
{
    if (std::isnan(seconds))
        return false;
    if (seconds < 0) {
        *ns = -1;
        return true;
    }
    // About 292 years: beyond it, "never" in practice.
    constexpr double kMax = 9.0e18;
    const double value = seconds * 1e9;
    *ns = value >= kMax ? static_cast<long long>(kMax) : static_cast<long long>(value);
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

UniqueFd make_timer() noexcept
{
    return UniqueFd(move_above_stdio(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)));
}

void drain(int fd) noexcept
{
    std::uint64_t value;
    while (::read(fd, &value, sizeof value) < 0 && errno == EINTR)
        ;
}

Waker::Waker() noexcept : fd_(move_above_stdio(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)))
{
}

void Waker::post(Serial serial) noexcept
{
    try {
        inbox_.push_back(serial);
    } catch (...) {
        return; // out of memory: this cancellation is lost, and said so by ENOMEM
    }
    const std::uint64_t one = 1;
    while (::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR)
        ;
}

void Waker::post_all() noexcept
{
    all_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    while (::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR)
        ;
}

std::vector<Serial> Waker::take() noexcept
{
    GlobalLock lock;
    return take_locked();
}

std::vector<Serial> Waker::take_locked() noexcept
{
    drain(fd_.get());
    std::vector<Serial> taken;
    taken.swap(inbox_);
    return taken;
}

bool drive_register_locked(Serial serial, Waker *waker) noexcept
{
    if (waker == nullptr || !waker->valid())
        return false;
    try {
        if (g_driven == nullptr)
            g_driven = new std::unordered_map<Serial, Waker *>();
        (*g_driven)[serial] = waker;
    } catch (...) {
        return false;
    }
    return true;
}

void drive_unregister(Serial serial) noexcept
{
    GlobalLock lock;
    if (g_driven != nullptr)
        g_driven->erase(serial);
}

Waker *drive_find_locked(Serial serial) noexcept
{
    if (g_driven == nullptr)
        return nullptr;
    auto it = g_driven->find(serial);
    return it == g_driven->end() ? nullptr : it->second;
}

} // namespace procreact
