// SPDX-License-Identifier: MIT
//
// Collection: members' exits watched through the collection's ExitRing.
//
// A collection that waits on descriptors (a main loop's, or streams and
// timers beside the exits) used to watch each member's exit through a
// pidfd: a file per child, made at the clone, added to the epoll set and
// closed after the reap. Where the kernel has io_uring's waitid, one ring
// does that for every member: a member whose exit is to be watched gets a
// waitid(P_PID, its pid, WNOWAIT) on the ring, named by a token, and its
// completion marks the member exited. Nothing is reaped there, so no child
// that is not a member is ever touched; the finish reaps by pid, as after
// a pidfd's event. A member taken out before its exit leaves a wait behind
// whose token nobody knows any more: its completion is ignored.
//
// The ring is set up the first time a member would otherwise get a pidfd
// (wants_pidfds(), asked before a spawn, so that the clone makes none).
// A wait belongs to the thread that submitted it and is cancelled when that
// thread ends: a launcher thread (which ends when idle) only marks its
// members, and the driving thread submits them after the fill.
// Where it cannot be had, or fails once, pidfds take over as before.
#include "collection.hpp"

#include <cerrno>

#include <sys/epoll.h>

#include "../os/threads.hpp"

namespace procreact
{
namespace
{

// A token names its member's index at the watch in its low bits (a hint
// that saves a search while the member has not moved), and a count above.
constexpr unsigned kIndexBits = 20;
constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << kIndexBits) - 1;

} // namespace

bool Collection::ring_ready() noexcept
{
    if (ring_off_)
        return false;
    if (ring_.valid())
        return true;
    if (ring_tried_)
        return false;
    ring_tried_ = true;
    if (!ring_.open())
        return false;
    if (!watcher_.add(ring_.fd(), kRingTag, EPOLLIN)) {
        ring_off_ = true;
        return false;
    }
    return true;
}

bool Collection::watch_exit_ring(Member &m) noexcept
{
    if (!ring_ready())
        return false;
    m.ring_wait = true;
    m.ring_token = 0;
    if (on_launcher_thread()) {
        // Its waits would end with it: the driving thread submits this one.
        ++ring_held_;
        return true;
    }
    m.ring_token = next_token(m);
    if (!ring_.watch(m.child.pid(), m.ring_token))
        ring_broken(); // which watches it (every ring member) another way
    return true;
}

void Collection::submit_held_watches() noexcept
{
    if (ring_held_ == 0 || ring_off_)
        return;
    bool ok = true;
    for (auto &m : members_) {
        if (!ok || !m->ring_wait || m->ring_token != 0)
            continue;
        m->ring_token = next_token(*m);
        ok = ring_.queue(m->child.pid(), m->ring_token) || (ring_.submit() && ring_.queue(m->child.pid(), m->ring_token));
    }
    ring_held_ = 0;
    if (!ok || !ring_.submit())
        ring_broken();
}

std::uint64_t Collection::next_token(const Member &m) noexcept
{
    return (++ring_tokens_ << kIndexBits) | (m.index & kIndexMask);
}

void Collection::unwatch_ring(Member &m) noexcept
{
    if (!m.ring_wait)
        return;
    m.ring_wait = false;
    if (m.ring_token == 0)
        --ring_held_;
}

void Collection::take_ring_exits() noexcept
{
    std::uint64_t token = 0;
    int result = 0;
    while (!ring_off_ && ring_.next(token, result)) {
        Member *m = nullptr;
        const std::size_t hint = static_cast<std::size_t>(token & kIndexMask);
        if (hint < members_.size() && members_[hint]->ring_token == token)
            m = members_[hint].get();
        for (std::size_t i = 0; m == nullptr && i < members_.size(); ++i)
            if (members_[i]->ring_token == token)
                m = members_[i].get();
        if (m == nullptr || !m->ring_wait)
            continue; // a wait left behind by a member taken out
        unwatch_ring(*m);
        if (result == 0 || result == -ECHILD) {
            // Exited; or reaped already (SIGCHLD ignored): the reap says what it can.
            m->exited = true;
            if (reading_done(*m))
                queue(*m);
        } else {
            // ECANCELED: the thread that asked is gone, ask again from this
            // one. Anything else: every other member to pidfds, then this one.
            if (result != -ECANCELED)
                ring_broken();
            rewatch_exit(*m);
        }
    }
}

void Collection::ring_broken() noexcept
{
    if (ring_off_)
        return;
    ring_off_ = true;
    if (ring_.valid())
        watcher_.remove(ring_.fd());
    for (auto &m : members_) {
        if (!m->ring_wait)
            continue;
        unwatch_ring(*m);
        rewatch_exit(*m); // a pidfd now, as without the ring
    }
    ring_held_ = 0; // (each was counted off above)
}

} // namespace procreact
