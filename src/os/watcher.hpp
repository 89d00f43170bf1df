// SPDX-License-Identifier: MIT
//
// Watcher: the descriptors one collection waits on. A small private set is
// waited on with poll() (no descriptor of its own: a blocking get costs no
// epoll instance, and adding or removing one costs no system call); once it
// grows past 16, or a main loop asks for a descriptor to watch, it becomes
// an epoll set and stays one. 16 covers an iterator with 8 programs in
// flight, each watched through its pidfd, and the waker: that saves an
// epoll_ctl per program, for a poll() over 9 descriptors per step.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fd.hpp"

namespace procreact
{

class Watcher
{
  public:
    /// What became ready: the tag given to add() and EPOLLIN/EPOLLOUT/EPOLLHUP bits.
    struct Event {
        std::uint64_t tag;
        std::uint32_t events;
    };

    Watcher() noexcept = default;
    Watcher(const Watcher &) = delete;
    Watcher &operator=(const Watcher &) = delete;

    /// Watches @p fd for @p events (EPOLLIN or EPOLLOUT), reported with @p tag.
    /// Returns false with errno set when it cannot.
    bool add(int fd, std::uint64_t tag, std::uint32_t events) noexcept;
    /// Stops watching @p fd (ignores -1 and descriptors not watched).
    void remove(int fd) noexcept;

    /// add() for a descriptor that reports once and is then done with (a
    /// pidfd): after its event, fired() forgets it without a system call.
    bool add_once(int fd, std::uint64_t tag, std::uint32_t events) noexcept;
    /// @p fd, added with add_once(), has reported its event. An epoll set
    /// keeps the disabled registration until the descriptor is closed (the
    /// kernel drops it then): no EPOLL_CTL_DEL per child. Before that it
    /// may still be removed with remove().
    void fired(int fd) noexcept;

    /// Waits up to @p timeout_ms (-1: forever, 0: only looks) and stores at
    /// most @p max events. EINTR restarts with the time left. Returns the
    /// number of events, or -1 with errno set.
    int wait(Event *out, int max, int timeout_ms) noexcept;

    /// The epoll descriptor (the set becomes one now if need be), or -1.
    int fd() noexcept;

    /// Whether nothing is watched (an epoll set, which does not count its
    /// descriptors, never says so).
    bool empty() const noexcept { return !epoll_ && polled_count_ == 0; }

  private:
    struct Registration {
        int fd;
        std::uint64_t tag;
        std::uint32_t events;
    };
    static constexpr std::size_t kPollMax = 16;

    bool to_epoll() noexcept;
    int wait_epoll(Event *out, int max, int timeout_ms) noexcept;

    UniqueFd epoll_;
    Registration polled_[kPollMax]; // the set while it is poll()'s
    std::size_t polled_count_ = 0;
};

} // namespace procreact
