// SPDX-License-Identifier: MIT
//
// Watcher: poll() for a small private set, epoll beyond it.
#include "watcher.hpp"

#include <cerrno>
#include <utility>

#include <poll.h>
#include <sys/epoll.h>

#include "clock.hpp"

namespace procreact
{

bool Watcher::add(int fd, std::uint64_t tag, std::uint32_t events) noexcept
{
    if (!epoll_ && polled_count_ >= kPollMax && !to_epoll())
        return false;
    if (epoll_) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag;
        return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
    }
    polled_[polled_count_++] = Registration{fd, tag, events};
    return true;
}

bool Watcher::add_once(int fd, std::uint64_t tag, std::uint32_t events) noexcept
{
    return add(fd, tag, events | EPOLLONESHOT);
}

void Watcher::fired(int fd) noexcept
{
    if (!epoll_)
        remove(fd); // poll() has no one-shot: forget it here
}

void Watcher::remove(int fd) noexcept
{
    if (fd < 0)
        return;
    if (epoll_) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
        return;
    }
    for (std::size_t i = 0; i < polled_count_; ++i) {
        if (polled_[i].fd == fd) {
            polled_[i] = polled_[--polled_count_];
            return;
        }
    }
}

// Out of line, so that a poll() set's wait keeps a small stack frame: a
// stack page first written while a forked child shares it is a copy.
__attribute__((noinline)) int Watcher::wait_epoll(Event *out, int max, int timeout_ms) noexcept
{
    epoll_event events[64];
    const int want = max < 64 ? max : 64;
    const int n = wait_retry(timeout_ms, [&](int left) { return ::epoll_wait(epoll_.get(), events, want, left); });
    for (int i = 0; i < n; ++i)
        out[i] = Event{events[i].data.u64, events[i].events};
    return n;
}

int Watcher::wait(Event *out, int max, int timeout_ms) noexcept
{
    if (epoll_)
        return wait_epoll(out, max, timeout_ms);
    struct pollfd fds[kPollMax];
    const nfds_t count = static_cast<nfds_t>(polled_count_);
    for (nfds_t i = 0; i < count; ++i)
        fds[i] = {polled_[i].fd, static_cast<short>(polled_[i].events & ~EPOLLONESHOT), 0};
    const int r = wait_retry(timeout_ms, [&](int left) { return ::poll(fds, count, left); });
    if (r <= 0)
        return r;
    int n = 0;
    // POLLIN, POLLOUT, POLLERR and POLLHUP have the values of their EPOLL twins.
    for (nfds_t i = 0; i < count && n < max; ++i)
        if (fds[i].revents != 0)
            out[n++] = Event{polled_[i].tag, static_cast<std::uint32_t>(fds[i].revents)};
    return n;
}

int Watcher::fd() noexcept
{
    if (!epoll_ && !to_epoll())
        return -1;
    return epoll_.get();
}

bool Watcher::to_epoll() noexcept
{
    UniqueFd epoll(move_above_stdio(::epoll_create1(EPOLL_CLOEXEC)));
    if (!epoll)
        return false;
    for (std::size_t i = 0; i < polled_count_; ++i) {
        const Registration &r = polled_[i];
        epoll_event ev{};
        ev.events = r.events;
        ev.data.u64 = r.tag;
        if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, r.fd, &ev) != 0)
            return false;
    }
    epoll_ = std::move(epoll);
    polled_count_ = 0;
    return true;
}

} // namespace procreact
