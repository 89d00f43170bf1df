// SPDX-License-Identifier: MIT
//
// Collection: its one timer queue (stop sequences, looks at unwatched
// children) and the timerfd that wakes a main loop for it.
#include "collection.hpp"

#include <algorithm>

namespace procreact
{

// Lists the member's next due time in the timer queue.
void Collection::schedule(Member &m, long long now) noexcept
{
    const long long due = stop_due(m);
    if (due == m.timer_due)
        return;
    if (m.timer_due != 0)
        timers_.erase(m.timer_it);
    m.timer_due = 0;
    if (due == 0)
        return;
    try {
        m.timer_it = timers_.emplace(due, &m);
        m.timer_due = due;
        if (timer_ && (armed_ == 0 || due < armed_)) {
            arm_timer(timer_.get(), due); // outside a step, too: the main loop sleeps on it
            armed_ = due;
        }
    } catch (...) {
        // Out of memory: stop now rather than never.
        if (advance_stop(m, std::max(now, due)))
            m.plan.deadline_ns = 0;
    }
}

// The earliest moment a step has something to do (0: none known).
long long Collection::next_due(long long now) const noexcept
{
    if (done_head_ != nullptr || !chan_ready_.empty())
        return now;
    long long due = timers_.empty() ? 0 : timers_.begin()->first;
    if (wake_at_ != 0)
        due = due == 0 ? wake_at_ : std::min(due, wake_at_);
    if (unwatched_ != 0) {
        const long long look = now + static_cast<long long>(backoff_ms_) * kNsPerMs;
        due = due == 0 ? look : std::min(due, look);
    }
    return due;
}

void Collection::set_deadline(Member &m, long long deadline_ns) noexcept
{
    m.plan.deadline_ns = deadline_ns;
    m.plan.own_deadline = true;
    const long long now = monotonic_ns();
    schedule(m, now);
    rearm(now);
}

void Collection::stop_member(Member &m, unsigned why) noexcept
{
    const long long now = monotonic_ns();
    stop(m, why, now);
    rearm(now);
}

void Collection::set_wake_at(long long due_ns) noexcept
{
    wake_at_ = due_ns;
    rearm(monotonic_ns());
}

void Collection::rearm(long long now) noexcept
{
    if (!timer_)
        return;
    const long long due = next_due(now);
    if (due != armed_) {
        arm_timer(timer_.get(), due);
        armed_ = due;
    }
}

} // namespace procreact
