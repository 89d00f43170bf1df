// SPDX-License-Identifier: MIT
//
// Collection: the channel part of a member (watching its socket, reading, flushing, its end).
#include "collection.hpp"

#include <algorithm>

#include <sys/epoll.h>

namespace procreact
{
namespace
{

// Reads of one channel per event: a fast sender cannot starve the others.
constexpr int kChannelReads = 16;

} // namespace

// The channel's socket is ready: write what it takes, read what came.
void Collection::handle_channel(Member &m, std::uint32_t events) noexcept
{
    ChannelEnd &c = *m.chan;
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 && c.wants_write())
        c.flush();
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0)
        for (int i = 0; i < kChannelReads && c.wants_read(); ++i)
            if (c.read_some() != ChannelEnd::Read::Progress)
                break;
    channel_changed(m);
}

void Collection::channel_hook(void *owner, void *member) noexcept
{
    static_cast<Collection *>(owner)->channel_changed(*static_cast<Member *>(member));
}

// Watches the channel for what it wants now. False when it cannot (errno).
bool Collection::watch_channel(Member &m) noexcept
{
    if (!m.chan)
        return true;
    const ChannelEnd &c = *m.chan;
    const std::uint32_t want = (c.wants_read() ? EPOLLIN : 0u) | (c.wants_write() ? EPOLLOUT : 0u);
    if (want == m.chan_events)
        return true;
    if (m.chan_events != 0)
        watcher_.remove(c.fd());
    m.chan_events = 0;
    if (want == 0)
        return true;
    if (!watcher_.add(c.fd(), tag(&m, kChan), want))
        return false;
    m.chan_events = want;
    return true;
}

// Stops watching the channel and hearing from its handles; off the event list.
void Collection::unwatch_channel(Member &m) noexcept
{
    if (m.chan_ready) {
        chan_ready_.erase(std::find(chan_ready_.begin(), chan_ready_.end(), &m));
        m.chan_ready = false;
    }
    if (!m.chan)
        return;
    m.chan->detach();
    if (m.chan_events != 0)
        watcher_.remove(m.chan->fd());
    m.chan_events = 0;
}

// What the channel waits for changed (a queue started or drained, reading
// ended), from a step or from the caller's use of a handle.
void Collection::channel_changed(Member &m) noexcept
{
    if (!watch_channel(m)) {
        // Cannot be watched (out of memory): it is given up on, not left hanging.
        m.chan->detach();
        m.chan->abandon(ENOMEM);
        m.chan->attach(&Collection::channel_hook, this, &m);
    }
    list_channel_ready(m);
    if (m.chan_done || !m.chan->read_ended())
        return;
    m.chan_done = true;
    if (reading_done(m))
        watch_exit(m);
    if (m.exited && reading_done(m))
        queue(m);
}

void Collection::set_channel_callback(ProcReact_ChannelCallback callback, void *data) noexcept
{
    channel_cb_ = callback;
    channel_cb_data_ = data;
    for (auto &m : members_)
        if (m->chan)
            list_channel_ready(*m);
}

// Lists @p m for the callback when its channel has events for it.
void Collection::list_channel_ready(Member &m) noexcept
{
    if (channel_cb_ == nullptr || m.chan_ready || !m.chan->has_event())
        return;
    m.chan_ready = true;
    chan_ready_.push_back(&m); // within the capacity reserved by add()
    rearm(monotonic_ns());    // a main loop wakes for it
}

void Collection::drain_channel_ready(void (*take)(Member &, void *), void *arg) noexcept
{
    for (Member *m : chan_ready_) {
        m->chan_ready = false;
        take(*m, arg);
    }
    chan_ready_.clear(); // the capacity stays
}

} // namespace procreact
