// SPDX-License-Identifier: MIT
//
// ChannelEnd: sending (a direct write, then a bounded queue; or waiting), SCM_RIGHTS with the first byte.
#include "channel_end.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../os/clock.hpp"

namespace procreact
{
namespace
{

constexpr int kNoWait = MSG_DONTWAIT | MSG_NOSIGNAL;
constexpr char kNewline = '\n';

// Fills @p msg's control buffer @p control with @p n descriptors.
void put_fds(msghdr &msg, char *control, const int *fds, unsigned n) noexcept
{
    if (n == 0)
        return;
    std::memset(control, 0, CMSG_SPACE(sizeof(int) * n)); // the padding too
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
}

ssize_t send_retrying(int fd, msghdr &msg, int flags = kNoWait) noexcept
{
    ssize_t n;
    do
        n = ::sendmsg(fd, &msg, flags);
    while (n < 0 && errno == EINTR);
    return n;
}

// Waits until @p fd takes more, up to what is left of @p deadline. False on
// a timeout (errno ETIMEDOUT) or a failed poll().
bool wait_writable(int fd, const Deadline &deadline) noexcept
{
    struct pollfd p = {fd, POLLOUT, 0};
    const int r = wait_retry(deadline.remaining_ms(), [&](int ms) { return ::poll(&p, 1, ms); });
    if (r == 0)
        errno = ETIMEDOUT;
    return r > 0;
}

} // namespace

int ChannelEnd::check_send(const void *data, std::size_t size, const int *fds, unsigned nfds) const noexcept
{
    if (send_error_ != 0 || closing_)
        return send_error_ != 0 ? send_error_ : EPIPE;
    if ((size != 0 && data == nullptr) || (nfds != 0 && fds == nullptr) || nfds > PROCREACT_CHANNEL_MAX_FDS ||
        (mode_ == PROCREACT_CHANNEL_LINES &&
         (nfds != 0 || (size != 0 && std::memchr(data, '\n', size) != nullptr))))
        return EINVAL;
    if (size > max_message())
        return EMSGSIZE;
    return 0;
}

std::size_t ChannelEnd::frame_iov(const void *data, std::size_t size, unsigned char *head, iovec iov[3]) const noexcept
{
    const std::size_t head_len = mode_ == PROCREACT_CHANNEL_FRAMED ? encode_header(size, head) : 0;
    iov[0] = {head, head_len};
    iov[1] = {const_cast<void *>(data), size};
    iov[2] = {const_cast<char *>(&kNewline), mode_ == PROCREACT_CHANNEL_LINES ? 1u : 0u};
    return head_len + size + iov[2].iov_len;
}

int ChannelEnd::queue_rest(const iovec iov[3], std::size_t total, std::size_t sent, const int *fds,
                           unsigned nfds) noexcept
{
    // Descriptors go with the first byte: once any byte went, they went
    // with it and are never sent again.
    const std::size_t size_before = out_.size();
    try {
        if (sent == 0 && nfds != 0) {
            OutgoingFds batch{out_offset_ + (out_.size() - out_head_), total, {}};
            batch.fds.reserve(nfds);
            for (unsigned i = 0; i < nfds; ++i) {
                UniqueFd dup(::fcntl(fds[i], F_DUPFD_CLOEXEC, 3));
                if (!dup)
                    return -1; // EBADF (nothing sent, nothing queued), EMFILE
                batch.fds.push_back(std::move(dup));
            }
            out_fds_.push_back(std::move(batch));
        }
        std::size_t skip = sent;
        for (int i = 0; i < 3; ++i) {
            const std::size_t from = std::min(skip, iov[i].iov_len);
            skip -= from;
            out_.append(static_cast<const char *>(iov[i].iov_base) + from, iov[i].iov_len - from);
        }
    } catch (...) {
        out_.resize(size_before); // nothing of it queued (shrinking never throws)
        if (sent == 0 && nfds != 0 && !out_fds_.empty() &&
            out_fds_.back().at == out_offset_ + (size_before - out_head_))
            out_fds_.pop_back();
        if (sent != 0) {
            // Part of the message is on the wire and the rest cannot be
            // kept: the stream is broken for the peer, so it ends here.
            send_error_ = EPIPE;
            ::shutdown(fd_, SHUT_WR);
        }
        errno = ENOMEM;
        return -1;
    }
    const bool started = queued_ == 0;
    queued_ += total - sent;
    if (queued_ >= high_water_)
        above_high_water_ = true;
    if (started)
        changed(); // the driving collection now waits for the socket to take more
    return queued_ >= high_water_ ? 1 : 0;
}

int ChannelEnd::send(const void *data, std::size_t size, const int *fds, unsigned nfds) noexcept
{
    if (const int error = check_send(data, size, fds, nfds)) {
        errno = error;
        return -1;
    }
    unsigned char head[kMaxHeader];
    iovec iov[3];
    const std::size_t total = frame_iov(data, size, head, iov);
    // One message is always taken by an empty queue, whatever its size.
    if (queued_ != 0 && (total > hard_cap_ || queued_ > hard_cap_ - total)) {
        errno = EAGAIN;
        return -1;
    }
    std::size_t sent = 0;
    if (coalesce_) {
        // Queued; written once a write's worth is there (or by flush()).
        const int r = queue_rest(iov, total, 0, fds, nfds);
        if (r < 0 || queued_ < coalesce_at_)
            return r;
        if (!flush())
            return -1;
        // A socket that took only part: the next try comes after another
        // write's worth, not at every send (each would fail with EAGAIN).
        coalesce_at_ = queued_ + kCoalesceWrite;
        if (queued_ == 0)
            changed(); // the driving collection stops waiting to write
        return queued_ >= high_water_ ? 1 : 0;
    }
    if (queued_ == 0) {
        // Straight to the socket: no copy unless it does not take it all.
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = 3;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * PROCREACT_CHANNEL_MAX_FDS)];
        put_fds(msg, control, fds, nfds);
        const ssize_t n = send_retrying(fd_, msg);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            send_error_ = errno;
            return -1;
        }
        sent = n > 0 ? static_cast<std::size_t>(n) : 0;
        if (sent == total)
            return 0;
    }
    return queue_rest(iov, total, sent, fds, nfds);
}

int ChannelEnd::send_wait(const void *data, std::size_t size, const int *fds, unsigned nfds, int timeout_ms) noexcept
{
    if (const int error = check_send(data, size, fds, nfds)) {
        errno = error;
        return -1;
    }
    const Deadline deadline(timeout_ms);
    // What is queued goes first.
    for (;;) {
        if (!flush())
            return -1;
        if (queued_ == 0)
            break;
        if (!wait_writable(fd_, deadline))
            return -1; // nothing of this message sent
    }
    changed();
    unsigned char head[kMaxHeader];
    iovec iov[3];
    const std::size_t total = frame_iov(data, size, head, iov);
    // Straight from the caller's buffer: without a timeout the kernel waits
    // for room itself (one call for a large message), else poll() does.
    const int flags = timeout_ms < 0 ? MSG_NOSIGNAL : kNoWait;
    std::size_t sent = 0;
    while (sent < total) {
        iovec rest[3];
        int count = 0;
        std::size_t skip = sent;
        for (int i = 0; i < 3; ++i) {
            const std::size_t from = std::min(skip, iov[i].iov_len);
            skip -= from;
            if (iov[i].iov_len > from)
                rest[count++] = {static_cast<char *>(iov[i].iov_base) + from, iov[i].iov_len - from};
        }
        msghdr msg{};
        msg.msg_iov = rest;
        msg.msg_iovlen = static_cast<std::size_t>(count);
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * PROCREACT_CHANNEL_MAX_FDS)];
        if (sent == 0)
            put_fds(msg, control, fds, nfds);
        const ssize_t n = send_retrying(fd_, msg, flags);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            send_error_ = errno;
            return -1;
        }
        if (!wait_writable(fd_, deadline)) {
            if (sent == 0)
                return -1; // ETIMEDOUT: nothing of it sent
            // Started: the rest is queued, to go with later flushes.
            return queue_rest(iov, total, sent, fds, nfds) < 0 ? -1 : 1;
        }
    }
    return 0;
}

bool ChannelEnd::flush() noexcept
{
    while (queued_ != 0) {
        // One write from the head: up to the next message with descriptors,
        // which is written alone (they go with its first byte, and the
        // reader gives them to the last message its read begins).
        std::size_t len = queued_;
        const OutgoingFds *with = nullptr;
        if (!out_fds_.empty()) {
            const std::uint64_t at = out_fds_.front().at;
            if (at == out_offset_) {
                with = &out_fds_.front();
                len = with->size;
            } else {
                len = static_cast<std::size_t>(at - out_offset_);
            }
        }
        iovec iov{&out_[out_head_], len};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * PROCREACT_CHANNEL_MAX_FDS)];
        int raw[PROCREACT_CHANNEL_MAX_FDS];
        if (with != nullptr) {
            for (std::size_t i = 0; i < with->fds.size(); ++i)
                raw[i] = with->fds[i].get();
            put_fds(msg, control, raw, static_cast<unsigned>(with->fds.size()));
        }
        const ssize_t n = send_retrying(fd_, msg);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            send_error_ = errno;
            out_.clear();
            out_head_ = 0;
            out_fds_.clear();
            queued_ = 0;
            return false;
        }
        if (with != nullptr)
            out_fds_.pop_front(); // sent with this write's first byte: closed, never sent again
        const std::size_t took = static_cast<std::size_t>(n);
        queued_ -= took;
        out_head_ += took;
        out_offset_ += took;
        if (queued_ == 0) {
            out_.clear(); // the capacity stays for the next burst
            out_head_ = 0;
            coalesce_at_ = kCoalesceWrite;
        } else if (out_head_ >= out_.size() / 2) {
            out_.erase(0, out_head_); // keeps the buffer within twice what is queued
            out_head_ = 0;
        }
    }
    if (above_high_water_) {
        above_high_water_ = false;
        writable_due_ = true;
    }
    if (closing_ && send_error_ == 0) {
        ::shutdown(fd_, SHUT_WR);
        send_error_ = EPIPE; // from now on a send fails
    }
    return true;
}

void ChannelEnd::shutdown_send() noexcept
{
    closing_ = true;
    if (queued_ == 0 && send_error_ == 0) {
        ::shutdown(fd_, SHUT_WR);
        send_error_ = EPIPE;
    }
}

} // namespace procreact
