// SPDX-License-Identifier: MIT
//
// ChannelEnd: one end of a message channel (socket, send queue, received queue).
//
// Shared between the member that drives it (the collection reads and
// flushes it as the socket becomes ready) and the caller's handles. Not
// thread-safe: one thread at a time, the one driving its member.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <sys/uio.h>

#include "../os/fd.hpp"
#include "channel_frame.hpp"

namespace procreact
{

class ChannelEnd
{
  public:
    /// Called when the caller's use changed what the end waits for (a
    /// queue started or drained, reading ended): the collection that
    /// drives it re-registers it.
    using ChangeHook = void (*)(void *owner, void *member) noexcept;

    /// Owns @p plain. May throw std::bad_alloc (its queues allocate as they
    /// are made): then @p plain is left as it was, still the caller's.
    ChannelEnd(UniqueFd &&plain, ProcReact_ChannelMode mode);
    ChannelEnd(const ChannelEnd &) = delete;
    ChannelEnd &operator=(const ChannelEnd &) = delete;

    int fd() const noexcept { return fd_; }
    /// In a forked child: the end becomes @p fd, the child's own.
    void own_in_child(int fd) noexcept
    {
        plain_.reset(fd);
        fd_ = fd;
    }
    ProcReact_ChannelMode mode() const noexcept { return mode_; }

    // Limits (see procreact_channel.h).
    std::uint64_t max_message() const noexcept { return parser_.max(); }
    void set_max_message(std::uint64_t max) noexcept { parser_.set_max(max); }
    void set_queue_limits(std::size_t high_water, std::size_t hard_cap) noexcept;

    // Sending.
    /// 0 (under the high-water mark), 1 (at or past it), or -1 with errno.
    int send(const void *data, std::size_t size, const int *fds, unsigned nfds) noexcept;
    /// Sends one message, waiting up to @p timeout_ms (-1: without limit)
    /// for the socket: 0 once written, 1 when the deadline passed after it
    /// started (its rest queued), -1 with errno (ETIMEDOUT: nothing of it sent).
    int send_wait(const void *data, std::size_t size, const int *fds, unsigned nfds, int timeout_ms) noexcept;
    /// No more sends: once the queue is written, the peer sees the end of the stream.
    void shutdown_send() noexcept;
    /// Writes what the socket takes now. False on a write error (errno).
    bool flush() noexcept;
    std::size_t queued() const noexcept { return queued_; }
    bool wants_write() const noexcept { return queued_ != 0 && send_error_ == 0; }
    /// Whether a writable event is due (the queue drained after reaching the high-water mark).
    bool take_writable_event() noexcept;

    // Receiving.
    enum class Read { Progress, Again, Ended };
    /// One read from the socket into the received queue; with @p wait, a
    /// read that sleeps until something comes (Again only on a socket the
    /// caller made non-blocking).
    Read read_some(bool wait = false) noexcept;
    /// Whether the collection should read (not ended, received queue under its cap).
    bool wants_read() const noexcept { return !read_ended_ && received_bytes_ < hard_cap_; }
    bool read_ended() const noexcept { return read_ended_; }
    /// 0 with @p out, 1 at a clean end, -1 with errno (EAGAIN: none yet).
    int take(MessagePtr &out) noexcept;
    bool has_message() const noexcept { return !received_.empty(); }
    /// Once reading ended: true the first time (a closed event is due), with its error.
    bool take_closed_event(int &error) noexcept
    {
        if (!read_ended_ || closed_told_)
            return false;
        closed_told_ = true;
        error = read_error_;
        return true;
    }
    /// Whether an event is waiting for a callback (messages, writable, closed).
    bool has_event() const noexcept { return has_message() || writable_due_ || (read_ended_ && !closed_told_); }
    /// Ends reading with @p error (the stream was given up on).
    void abandon(int error) noexcept;

    // The collection that drives this end, if any.
    void attach(ChangeHook hook, void *owner, void *member) noexcept;
    void detach() noexcept { attach(nullptr, nullptr, nullptr); }
    void changed() noexcept;

    /// With @p on, send() queues every message and writes only once the
    /// queue holds a write's worth (or at flush(), or the collection's next step).
    void set_coalesce(bool on) noexcept { coalesce_ = on; }

  private:
    /// Descriptors (duplicates) sent with the byte at stream offset @p at,
    /// the first of a message of @p size bytes (written alone: see FrameParser::feed()).
    struct OutgoingFds {
        std::uint64_t at;
        std::size_t size;
        std::vector<UniqueFd> fds;
    };
    void end_reading(int error) noexcept;
    int check_send(const void *data, std::size_t size, const int *fds, unsigned nfds) const noexcept;
    std::size_t frame_iov(const void *data, std::size_t size, unsigned char *head, iovec iov[3]) const noexcept;
    int queue_rest(const iovec iov[3], std::size_t total, std::size_t sent, const int *fds, unsigned nfds) noexcept;

    UniqueFd plain_;
    int fd_;
    ProcReact_ChannelMode mode_;

    FrameParser parser_;
    MessageQueue received_;
    std::size_t received_bytes_ = 0;
    bool read_ended_ = false;
    int read_error_ = 0; // 0: a clean end
    bool closed_told_ = false;

    // The send queue: the unsent bytes of whole frames, contiguous, from
    // out_head_ on (out_head_ is stream offset out_offset_), so one write
    // takes as much as the socket will; descriptors by stream offset.
    std::string out_;
    std::size_t out_head_ = 0;
    std::uint64_t out_offset_ = 0;
    std::deque<OutgoingFds> out_fds_;
    std::size_t queued_ = 0;
    static constexpr std::size_t kCoalesceWrite = 64 * 1024; // coalescing: a write's worth
    bool coalesce_ = false;
    std::size_t coalesce_at_ = kCoalesceWrite; // coalescing: the queued size at which send() writes next
    int send_error_ = 0;
    bool above_high_water_ = false;
    bool closing_ = false; // shutdown_send() asked: the write side closes once the queue is empty
    bool writable_due_ = false;
    std::size_t high_water_ = PROCREACT_CHANNEL_DEFAULT_HIGH_WATER;
    std::size_t hard_cap_ = PROCREACT_CHANNEL_DEFAULT_HARD_CAP;

    ChangeHook hook_ = nullptr;
    void *owner_ = nullptr;
    void *member_ = nullptr;
};

/// Creates the two ends of a channel socket pair. Only the child's end is
/// listed (kept out of other forked children while the parent holds it:
/// the parent's end of stream depends on it); with @p keep_child, this
/// thread's next fork() keeps it in its child. The parent's end is not
/// listed, so the work per fork does not grow with the open channels: a
/// forked child may inherit it close-on-exec (see procreact_future.h).
/// Returns false with errno set.
bool make_channel_pair(UniqueFd &parent, WriteEnd &child, bool keep_child) noexcept;

} // namespace procreact

/// The caller's handle: one holder of an end.
struct ProcReact_Channel {
    std::shared_ptr<procreact::ChannelEnd> end;
};
