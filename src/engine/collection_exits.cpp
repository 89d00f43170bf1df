// SPDX-License-Identifier: MIT
//
// Collection: how its members' exits are watched (a pidfd, looking, or a
// blocking reap left to the driver) and how its lazy waker gets watched.
#include "collection.hpp"

#include <algorithm>

#include <sys/epoll.h>

#include "../os/threads.hpp"

namespace procreact
{
namespace
{

// Back-off while a child's exit can only be looked for (no pidfd).
constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 50;

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

void Collection::watch_exit(Member &m) noexcept
{
    if (m.exited)
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

bool Collection::watch_waker() noexcept
{
    if (waker_->fd() >= 0 || single_threaded())
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
