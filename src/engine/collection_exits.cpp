// SPDX-License-Identifier: MIT
//
// Collection: how its members' exits are watched (a pidfd, the exit ring of
// collection_ring.cpp, looking, a wait by pid, or a blocking reap left to
// the driver) and how its lazy waker gets watched.
//
// Waiting by pid. A pidfd costs the parent about 4 us per child (made by the
// clone or pidfd_open(), closed after the reap: as much as the rest of the
// parent's own work per spawned program; doc/design.md, "Spawning
// programs"). It is needed only to wait for an exit together with other
// descriptors. A collection that has nothing else to wait for (no stream,
// no timer, no main loop's descriptor) and that nobody else can wake (one
// thread in the process) waits for its members' exits with
// waitid(P_ALL, WNOWAIT): it sleeps until some child of this process has
// exited, reaps nothing, and learns its pid.
// A member's pid: that member is done (the finish reaps it by pid, which an
// unreaped child keeps). Any other pid (a child of the application's, or of
// another collection) would come back from every such wait until its owner
// reaps it: the collection stops waiting by pid for good and watches its
// members through pidfds, as it does whenever the conditions above end. No
// child that is not a member is ever reaped or waited for beyond that look.
#include "collection.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/epoll.h>
#include <sys/wait.h>

#include "../os/threads.hpp"

namespace procreact
{
namespace
{

// Back-off while a child's exit can only be looked for (no pidfd).
constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 50;

// Beyond this many members, a pid that a wait reports is not looked for
// among them: their exits are watched through pidfds (an epoll set).
constexpr std::size_t kPidlessMax = 64;

} // namespace

// Children whose exit cannot be watched: look, and back off while none moves.
void Collection::look_at_unwatched() noexcept
{
    if (unwatched_ == 0)
        return;
    bool moved = false;
    for (auto &m : members_) {
        if (m->unwatched && m->child.has_exited()) {
            m->unwatched = false;
            --unwatched_;
            m->exited = true;
            queue(*m);
            moved = true;
        }
    }
    backoff_ms_ = moved ? kFirstBackoffMs : std::min(backoff_ms_ * 2, kMaxBackoffMs);
}

bool Collection::pidless_possible() const noexcept
{
    // A default deadline or a driver's own timer: the waits are timed.
    return !pidless_off_ && !timer_ && waker_->fd() < 0 && single_threaded() && members_.size() <= kPidlessMax &&
           defaults_.timeout_ns < 0 && wake_at_ == 0;
}

bool Collection::pidless_wait_fits(bool block, int max_wait_ms) const noexcept
{
    return block && max_wait_ms < 0 && timers_.empty() && unwatched_ == 0 && watcher_.empty() && chan_ready_.empty() &&
           pidless_possible();
}

void Collection::watch_exit(Member &m) noexcept
{
    if (m.exited || m.pid_wait || m.ring_wait)
        return;
    if (m.child.pidfd() < 0 && m.child.owns() && pidless_possible()) {
        m.pid_wait = true;
        ++pid_waiting_;
        return;
    }
    watch_exit_polled(m);
}

void Collection::watch_exit_polled(Member &m) noexcept
{
    if (m.exited || m.ring_wait)
        return;
    // No pidfd made with the child: the exit ring, where there is one.
    if (m.child.pidfd() < 0 && m.child.owns() && watch_exit_ring(m))
        return;
    if (m.child.pidfd() < 0)
        m.child.ensure_pidfd(true);
    if (m.child.pidfd() >= 0 && watcher_.add_once(m.child.pidfd(), tag(&m, kPid), EPOLLIN))
        return;
    if (m.child.has_exited()) {
        m.exited = true;
        return;
    }
    m.unwatched = true;
    ++unwatched_;
    backoff_ms_ = kFirstBackoffMs;
}

void Collection::convert_pid_waits() noexcept
{
    if (pid_waiting_ == 0)
        return;
    pid_waiting_ = 0;
    for (auto &m : members_) {
        if (!m->pid_wait)
            continue;
        m->pid_wait = false;
        rewatch_exit(*m);
    }
}

void Collection::rewatch_exit(Member &m) noexcept
{
    watch_exit_polled(m);
    if (m.exited)
        queue(m);
}

void Collection::exited_by_pid(Member &m) noexcept
{
    m.pid_wait = false;
    --pid_waiting_;
    m.exited = true;
    queue(m);
}

bool Collection::wait_any_exit() noexcept
{
    siginfo_t info;
    int r;
    do {
        std::memset(&info, 0, sizeof info);
        r = ::waitid(P_ALL, 0, &info, WEXITED | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        // No child at all (ECHILD): ours were reaped by somebody else, or
        // SIGCHLD is ignored. Each member's reap says what became of it.
        pidless_off_ = true;
        for (auto &m : members_)
            if (m->pid_wait)
                exited_by_pid(*m);
        return true;
    }
    for (auto &m : members_) {
        if (m->pid_wait && m->child.pid() == info.si_pid) {
            exited_by_pid(*m);
            return true;
        }
    }
    pidless_off_ = true; // somebody else's child: every wait would report it again
    convert_pid_waits();
    return false;
}

int Collection::wait_events(Watcher::Event *events, int max, int timeout) noexcept
{
    if (pid_waiting_ != 0 && timeout < 0) {
        if (wait_any_exit())
            return 0; // a member's exit (nothing else is watched)
        timeout = 0;  // waits by pid given up: a look now, the next step waits on pidfds
    }
    if (pid_waiting_ != 0 && watcher_.empty())
        return 0; // nothing to look at but exits, and no time to wait for them
    return only_output_left(timeout) ? read_blocking(events) : watcher_.wait(events, max, timeout);
}

bool Collection::watch_waker(bool always) noexcept
{
    if (waker_->fd() >= 0 || (single_threaded() && !always))
        return true;
    // A second thread exists now: it may post, and ring.
    if (!waker_->make_fd())
        return false;
    return watcher_.add(waker_->fd(), kWakerTag, EPOLLIN);
}

// One member, nothing handed out yet, and nobody who could interrupt a
// blocking call: no waker descriptor (one thread) and nothing posted.
bool Collection::alone_and_unreachable() const noexcept
{
    return members_.size() == 1 && waker_->fd() < 0 && !waker_->pending() && done_head_ == nullptr;
}

// The same holds while a built-in type reads the one member's own blocking
// pipe: its read waits for data or the end, in place of a poll() before it.
bool Collection::only_output_left(int timeout_ms) const noexcept
{
    if (timeout_ms >= 0 || timer_ || !alone_and_unreachable())
        return false;
    const Member &m = *members_.front();
    return m.builtin && m.out && m.out_blocks && !m.err && !m.in.valid() && !m.chan && !m.exited;
}

int Collection::read_blocking(Watcher::Event *events) noexcept
{
    events[0] = {tag(members_.front().get(), kOut), EPOLLIN};
    return 1;
}

std::unique_ptr<Member> Collection::take_if_only_exit_left() noexcept
{
    if (!alone_and_unreachable())
        return nullptr;
    Member &m = *members_.front();
    if (m.exited || !reading_done(m) || m.in.valid() || m.chan || m.timer_due != 0 ||
        next_due(monotonic_ns()) != 0)
        return nullptr;
    return take(m);
}

} // namespace procreact
