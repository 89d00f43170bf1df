// SPDX-License-Identifier: MIT
//
// Collection: waiting, moving bytes, exits, timers and cancellation for a
// set of children.
#include "collection.hpp"
#include "room.hpp"

#include <algorithm>
#include <new>

#include <sys/epoll.h>

#include "procreact_exit.h"

#include "../os/threads.hpp"

namespace procreact
{
namespace
{

constexpr std::uintptr_t kStreamMask = 7;
static_assert(alignof(Member) >= 8, "a member's address leaves 3 bits for its stream");

// Events taken per wait: a small array keeps the step on the stack pages
// already in use (a new page written while a forked child shares it is a copy).
constexpr int kEventsPerWait = 16;

} // namespace

std::uint64_t Collection::tag(Member *m, Stream s) noexcept
{
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m) | s);
}

Collection::Collection(bool lazy_waker) : waker_(make_waker(lazy_waker && single_threaded()))
{
    if (!waker_ || (waker_->fd() >= 0 && !watcher_.add(waker_->fd(), kWakerTag, EPOLLIN)))
        throw std::bad_alloc();
}

Collection::~Collection()
{
    take_all(); // each member, destroyed, kills and reaps its child
}

int Collection::fd() noexcept
{
    // A main loop waits on descriptors only: every exit through a pidfd,
    // and any thread to come through the waker's eventfd.
    convert_pid_waits();
    if (!watch_waker(true))
        return -1;
    const int fd = watcher_.fd();
    if (fd < 0)
        return -1;
    if (!timer_) {
        UniqueFd timer = make_timer();
        if (!timer || !watcher_.add(timer.get(), kTimerTag, EPOLLIN))
            return -1;
        timer_ = std::move(timer);
        armed_ = 0;
        rearm(monotonic_ns());
    }
    return fd;
}

bool Collection::add(std::unique_ptr<Member> &member)
{
    make_room(members_, 1);
    if (member->chan)
        make_room(chan_ready_, members_.size() + 1 - chan_ready_.size()); // listing a member never allocates
    Member *m = member.get();
    if (m->out && !watcher_.add(m->out.get(), tag(m, kOut), EPOLLIN))
        return false;
    m->chan_events = 0;
    m->chan_done = false;
    if ((m->err && !watcher_.add(m->err.get(), tag(m, kErr), EPOLLIN)) ||
        (m->in.valid() && !watcher_.add(m->in.get(), tag(m, kIn), EPOLLOUT)) || !watch_channel(*m)) {
        watcher_.remove(m->out.get());
        watcher_.remove(m->err.get());
        watcher_.remove(m->in.get());
        return false;
    }
    // Nothing below throws.
    m->index = members_.size();
    m->exited = m->queued = m->unwatched = m->pid_wait = m->ring_wait = false;
    m->next_done = nullptr;
    m->timer_due = 0;
    members_.push_back(std::move(member));
    if (m->chan) { // the caller's use of a handle reaches us from now on
        m->chan->attach(&Collection::channel_hook, this, m);
        m->chan_done = m->chan->read_ended();
        m->chan_ready = false;
        list_channel_ready(*m);
    }
    // The clock is read only for what is timed: a deadline (the default's
    // or the member's own), a cancellation's stop sequence, a main loop's
    // timer. An untimed member (the usual spawn) costs no clock read here.
    const bool timed = defaults_.needs_now(m->plan) || cancelled() || stop_due(*m) != 0 || timer_.valid();
    const long long now = timed ? monotonic_ns() : 0;
    defaults_.apply(m->plan, now);
    if (cancelled())
        begin_stop(*m, PROCREACT_EXIT_CANCELLED, now);
    schedule(*m, now);
    // A child with no output stream to watch is watched for its exit now.
    if (reading_done(*m)) {
        watch_exit(*m);
        if (m->exited)
            queue(*m); // completes at the next step
    }
    rearm(now);
    return true;
}

void Collection::step(bool block, int max_wait_ms)
{
    rearm(step_events(block, max_wait_ms));
}

long long Collection::step_events(bool block, int max_wait_ms)
{
    Watcher::Event events[kEventsPerWait];
    submit_held_watches();
    // Exits waited for by pid, when this step waits for more than exits.
    if (pid_waiting_ != 0 && !pidless_wait_fits(block, max_wait_ms))
        convert_pid_waits();
    // Without a timer, a deadline or a look due, the wait needs no clock:
    // it sleeps until an event, or not at all when members are done already.
    int timeout = 0;
    if (block && (!timers_.empty() || wake_at_ != 0 || unwatched_ != 0)) {
        const long long before = monotonic_ns();
        timeout = ms_until(next_due(before), before);
    } else if (block) {
        timeout = done_head_ != nullptr || !chan_ready_.empty() ? 0 : -1;
    }
    std::vector<Serial> cancels;
    if (!watch_waker())
        throw RunFailure{PROCREACT_STATUS_WAIT_FAIL};
    // Posted without a ring: by this very thread, or before the eventfd
    // was made (a lazy Waker's, once a second thread came).
    if (waker_->has_posts() || (cancelled() && !cancelling_all_)) {
        cancels = waker_->take();
        timeout = 0;
    }
    if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms))
        timeout = max_wait_ms;
    const int n = wait_events(events, kEventsPerWait, timeout);
    if (n < 0)
        throw RunFailure{PROCREACT_STATUS_WAIT_FAIL};
    // The clock only for what is timed (an exit found by pid alone is not).
    const bool timed = n > 0 || !cancels.empty() || cancelled() || !timers_.empty() || timer_.valid();
    const long long now = timed ? monotonic_ns() : 0;
    for (int i = 0; i < n; ++i) {
        const std::uint64_t raw = events[i].tag;
        auto *m = reinterpret_cast<Member *>(static_cast<std::uintptr_t>(raw) & ~kStreamMask);
        if (m != nullptr)
            handle(*m, static_cast<std::uintptr_t>(raw) & kStreamMask, events[i].events, now);
        else if (raw == kTimerTag)
            drain(timer_.get());
        else if (raw == kRingTag)
            take_ring_exits();
        else
            cancels = waker_->take();
    }

    // Cancellations: the whole collection, or single futures (rare: found
    // by a look through the members).
    if (cancelled() && !cancelling_all_) {
        cancelling_all_ = true;
        for (auto &m : members_)
            stop(*m, PROCREACT_EXIT_CANCELLED, now);
    }
    for (Serial serial : cancels)
        for (auto &m : members_)
            if (m->serial == serial)
                stop(*m, PROCREACT_EXIT_CANCELLED, now);

    // The stop sequences that are due.
    while (!timers_.empty() && timers_.begin()->first <= now) {
        Member *m = timers_.begin()->second;
        timers_.erase(timers_.begin());
        m->timer_due = 0;
        if (advance_stop(*m, now))
            abandon(*m);
        schedule(*m, now);
    }

    look_at_unwatched();
    return now;
}

std::unique_ptr<Member> Collection::pop_done() noexcept
{
    Member *m = done_head_;
    if (m == nullptr)
        return nullptr;
    done_head_ = m->next_done;
    if (done_head_ == nullptr)
        done_tail_ = nullptr;
    m->next_done = nullptr;
    m->queued = false;
    return take(*m);
}

void Collection::step(MemberList &done, bool block, int max_wait_ms)
{
    const long long now = step_events(block, max_wait_ms);
    std::size_t count = 0;
    for (Member *m = done_head_; m != nullptr; m = m->next_done)
        ++count;
    try {
        make_room(done, count);
    } catch (...) {
        rearm(now); // the done members stay listed: a main loop must wake for them
        throw;
    }
    while (auto m = pop_done())
        done.push_back(std::move(m));
    rearm(now); // after taking them out: the timer does not wake a main loop for what was handed out
}

ProcReact_Status Collection::step_or_fail(MemberList &done,
                                          MemberList &failed, bool block,
                                          int max_wait_ms) noexcept
{
    ProcReact_Status failure = PROCREACT_STATUS_OK;
    try {
        step(done, block, max_wait_ms);
        return failure;
    } catch (const RunFailure &f) {
        failure = f.status;
    } catch (...) {
        failure = PROCREACT_STATUS_OUT_OF_MEMORY;
    }
    failed = take_all();
    return failure;
}

void Collection::handle(Member &m, std::uintptr_t stream, std::uint32_t events, long long now) noexcept
{
    switch (stream) {
    case kChan:
        if (m.chan)
            handle_channel(m, events);
        break;
    case kPid:
        watcher_.fired(m.child.pidfd());
        m.exited = true;
        if (reading_done(m))
            queue(m);
        break;
    case kOut: {
        // Hung up: the writers are gone, so what is left in the pipe is read
        // now, to its end, with no wait in between (no read can block). Only
        // for the library's own types, whose reads end at end of stream: a
        // custom append that never says so must not hold the step (and the
        // deadlines) in a loop.
        Pump p = m.out ? pump(m) : Pump::Again;
        while (p == Pump::Data && (events & EPOLLHUP) != 0 && m.builtin)
            p = pump(m);
        if (p == Pump::End)
            stream_ended(m, m.out.get(), now);
        break;
    }
    case kErr:
        if (m.err && !pump_err(m))
            stream_ended(m, m.err.get(), now);
        break;
    default: // kIn
        if (m.in.valid() && !feed_in(m)) {
            watcher_.remove(m.in.get());
            end_input(m);
        }
        break;
    }
}

MemberList Collection::take_all() noexcept
{
    for (auto &m : members_) {
        unwatch_all(*m);
        if (m->serial != 0)
            drive_unregister(m->serial); // a cancellation no longer reaches it through us
        m->timer_due = 0;
        m->queued = m->unwatched = m->pid_wait = m->ring_wait = false;
        m->next_done = nullptr;
    }
    unwatched_ = pid_waiting_ = ring_held_ = 0;
    done_head_ = done_tail_ = nullptr;
    timers_.clear();
    return std::move(members_);
}

std::unique_ptr<Member> Collection::take(Member &m) noexcept
{
    unwatch_all(m);
    if (m.timer_due != 0)
        timers_.erase(m.timer_it);
    m.timer_due = 0;
    if (m.serial != 0)
        drive_unregister(m.serial);
    if (m.unwatched) {
        m.unwatched = false;
        --unwatched_;
    }
    if (m.pid_wait) {
        m.pid_wait = false;
        --pid_waiting_;
    }
    unwatch_ring(m);
    if (m.queued) { // off the done list
        Member **link = &done_head_;
        Member *prev = nullptr;
        while (*link != &m) {
            prev = *link;
            link = &(*link)->next_done;
        }
        *link = m.next_done;
        if (done_tail_ == &m)
            done_tail_ = prev;
        m.next_done = nullptr;
        m.queued = false;
    }
    const std::size_t index = m.index;
    std::unique_ptr<Member> taken = std::move(members_[index]);
    if (index + 1 != members_.size()) {
        members_[index] = std::move(members_.back());
        members_[index]->index = index;
    }
    members_.pop_back();
    return taken;
}

void Collection::unwatch_all(Member &m) noexcept
{
    unwatch_channel(m);
    watcher_.remove(m.out.get());
    watcher_.remove(m.err.get());
    watcher_.remove(m.in.get());
    if (!m.exited)
        watcher_.remove(m.child.pidfd());
}

void Collection::queue(Member &m) noexcept
{
    if (m.queued)
        return;
    m.queued = true;
    m.next_done = nullptr;
    if (done_tail_ != nullptr)
        done_tail_->next_done = &m;
    else
        done_head_ = &m;
    done_tail_ = &m;
}

// The output or stderr stream @p fd of @p m ended (or passed its limit).
void Collection::stream_ended(Member &m, int fd, long long now) noexcept
{
    watcher_.remove(fd);
    if (fd == m.out.get())
        end_reading(m);
    else
        m.err.reset();
    if (m.limit_hit)
        stop(m, PROCREACT_EXIT_OUTPUT_LIMIT, now);
    if (reading_done(m))
        watch_exit(m);
    if (m.exited && reading_done(m))
        queue(m);
}

void Collection::stop(Member &m, unsigned why, long long now) noexcept
{
    begin_stop(m, why, now);
    schedule(m, now);
}

// The stop sequence gave up on the pipes (held open by a process outside
// the child's group): they close, and the exit is watched instead.
void Collection::abandon(Member &m) noexcept
{
    if (reading_done(m) && !m.in.valid())
        return;
    watcher_.remove(m.out.get());
    watcher_.remove(m.err.get());
    watcher_.remove(m.in.get());
    unwatch_channel(m); // given up on with the pipes; its hook quiet meanwhile
    m.chan_done = true;
    end_streams(m);
    if (m.chan) {
        m.chan->attach(&Collection::channel_hook, this, &m);
        list_channel_ready(m); // its closed event
    }
    watch_exit(m);
    if (m.exited)
        queue(m);
}

// Reading has ended: the pipes are gone (closed before anything waits for
// the child, which may be blocked writing), and the child's exit is watched
// instead, in their place.
} // namespace procreact
