// SPDX-License-Identifier: MIT
//
// ChannelEnd: sending (direct write, then a bounded queue), receiving, SCM_RIGHTS.
#include "channel_end.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace procreact
{
namespace
{

constexpr std::size_t kScratch = 64 * 1024; // reads of headers and small messages
constexpr std::size_t kDirect = 16 * 1024;  // a body left this big is read in place
constexpr int kMaxIov = 64;
constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL;

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

ssize_t send_retrying(int fd, msghdr &msg) noexcept
{
    ssize_t n;
    do
        n = ::sendmsg(fd, &msg, kSendFlags);
    while (n < 0 && errno == EINTR);
    return n;
}

} // namespace

ChannelEnd::ChannelEnd(WriteEnd listed, ProcReact_ChannelMode mode) noexcept
    : listed_(std::move(listed)), fd_(listed_.get()), mode_(mode),
      parser_(mode, PROCREACT_CHANNEL_DEFAULT_MAX_MESSAGE)
{
}

ChannelEnd::ChannelEnd(UniqueFd plain, ProcReact_ChannelMode mode) noexcept
    : plain_(std::move(plain)), fd_(plain_.get()), mode_(mode), parser_(mode, PROCREACT_CHANNEL_DEFAULT_MAX_MESSAGE)
{
}

void ChannelEnd::set_queue_limits(std::size_t high_water, std::size_t hard_cap) noexcept
{
    high_water_ = high_water;
    hard_cap_ = hard_cap;
    changed();
}

void ChannelEnd::attach(ChangeHook hook, void *owner, void *member) noexcept
{
    hook_ = hook;
    owner_ = owner;
    member_ = member;
}

void ChannelEnd::changed() noexcept
{
    if (hook_ != nullptr)
        hook_(owner_, member_);
}

int ChannelEnd::send(const void *data, std::size_t size, const int *fds, unsigned nfds) noexcept
{
    if (send_error_ != 0) {
        errno = send_error_;
        return -1;
    }
    if ((size != 0 && data == nullptr) || (nfds != 0 && fds == nullptr) || nfds > PROCREACT_CHANNEL_MAX_FDS ||
        (mode_ == PROCREACT_CHANNEL_LINES &&
         (nfds != 0 || (size != 0 && std::memchr(data, '\n', size) != nullptr)))) {
        errno = EINVAL;
        return -1;
    }
    if (size > max_message()) {
        errno = EMSGSIZE;
        return -1;
    }
    unsigned char head[kMaxHeader];
    std::size_t head_len = 0;
    static const char newline = '\n';
    std::size_t tail_len = 0;
    if (mode_ == PROCREACT_CHANNEL_FRAMED)
        head_len = encode_header(size, head);
    else
        tail_len = 1;
    const std::size_t total = head_len + size + tail_len;
    // One message is always taken by an empty queue, whatever its size.
    if (queued_ != 0 && (total > hard_cap_ || queued_ > hard_cap_ - total)) {
        errno = EAGAIN;
        return -1;
    }
    iovec iov[3] = {{head, head_len},
                    {const_cast<void *>(data), size},
                    {const_cast<char *>(&newline), tail_len}};
    std::size_t sent = 0;
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
    // The rest waits in the queue. Descriptors go with the first byte: once
    // any byte went, they went with it and are never sent again.
    try {
        Outgoing out;
        out.bytes.reserve(total - sent);
        std::size_t skip = sent;
        for (const iovec &v : iov) {
            const std::size_t from = std::min(skip, v.iov_len);
            skip -= from;
            out.bytes.append(static_cast<const char *>(v.iov_base) + from, v.iov_len - from);
        }
        if (sent == 0) {
            out.fds.reserve(nfds);
            for (unsigned i = 0; i < nfds; ++i) {
                UniqueFd dup(::fcntl(fds[i], F_DUPFD_CLOEXEC, 3));
                if (!dup)
                    return -1; // EBADF (nothing sent, nothing queued), EMFILE
                out.fds.push_back(std::move(dup));
            }
        }
        outgoing_.push_back(std::move(out));
    } catch (...) {
        if (sent != 0) {
            // Part of the message is on the wire and the rest cannot be
            // kept: the stream is broken for the peer, so it ends here.
            send_error_ = EPIPE;
            ::shutdown(fd_, SHUT_WR);
        }
        errno = ENOMEM;
        return -1;
    }
    queued_ += total - sent;
    if (queued_ >= high_water_)
        above_high_water_ = true;
    changed(); // the driving collection now waits for the socket to take more
    return queued_ >= high_water_ ? 1 : 0;
}

bool ChannelEnd::flush() noexcept
{
    while (!outgoing_.empty()) {
        iovec iov[kMaxIov];
        int count = 0;
        for (auto it = outgoing_.begin(); it != outgoing_.end() && count < kMaxIov; ++it) {
            if (count > 0 && !it->fds.empty())
                break; // a message with descriptors starts a write of its own
            iov[count].iov_base = &it->bytes[it->sent];
            iov[count].iov_len = it->bytes.size() - it->sent;
            ++count;
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<std::size_t>(count);
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * PROCREACT_CHANNEL_MAX_FDS)];
        Outgoing &front = outgoing_.front();
        int raw[PROCREACT_CHANNEL_MAX_FDS];
        for (std::size_t i = 0; i < front.fds.size(); ++i)
            raw[i] = front.fds[i].get();
        put_fds(msg, control, raw, static_cast<unsigned>(front.fds.size()));
        const ssize_t n = send_retrying(fd_, msg);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            send_error_ = errno;
            outgoing_.clear();
            queued_ = 0;
            return false;
        }
        front.fds.clear(); // sent with this write's first byte: closed, never sent again
        std::size_t left = static_cast<std::size_t>(n);
        queued_ -= left;
        while (left > 0) {
            Outgoing &o = outgoing_.front();
            const std::size_t take = std::min(left, o.bytes.size() - o.sent);
            o.sent += take;
            left -= take;
            if (o.sent == o.bytes.size())
                outgoing_.pop_front();
        }
    }
    if (above_high_water_) {
        above_high_water_ = false;
        writable_due_ = true;
    }
    return true;
}

bool ChannelEnd::take_writable_event() noexcept
{
    const bool due = writable_due_;
    writable_due_ = false;
    return due;
}

ChannelEnd::Read ChannelEnd::read_some() noexcept
{
    if (read_ended_)
        return Read::Ended;
    std::size_t room = 0;
    char *target = parser_.body_target(kDirect, room);
    char *buf = target;
    if (target == nullptr) {
        if (!scratch_) {
            scratch_.reset(new (std::nothrow) char[kScratch]);
            if (!scratch_) {
                end_reading(ENOMEM);
                return Read::Ended;
            }
        }
        buf = scratch_.get();
        room = kScratch;
    }
    iovec iov{buf, room};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * PROCREACT_CHANNEL_MAX_FDS)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do
        n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return Read::Again;
    // Every descriptor that came is owned before anything else happens.
    std::vector<UniqueFd> fds;
    bool fds_lost = false;
    if (n >= 0 && msg.msg_controllen > 0) {
        for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                UniqueFd owned(fd);
                try {
                    fds.push_back(std::move(owned));
                } catch (...) {
                    fds_lost = true; // closed by `owned`
                }
            }
        }
    }
    if (n < 0) {
        // A reset after every complete message is only the peer leaving.
        const int error = errno;
        end_reading(error == ECONNRESET && parser_.at_boundary() ? 0 : error);
        return Read::Ended;
    }
    if (n == 0) {
        // A partial message at the end of the stream is never delivered.
        end_reading(parser_.at_boundary() ? 0 : ECONNRESET);
        return Read::Ended;
    }
    if (fds_lost) {
        end_reading(ENOMEM);
        return Read::Ended;
    }
    const bool truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    int error;
    if (target != nullptr)
        error = fds.empty() ? parser_.body_filled(static_cast<std::size_t>(n), received_, received_bytes_) : EPROTO;
    else
        error = parser_.feed(buf, static_cast<std::size_t>(n), fds, truncated, received_, received_bytes_);
    if (error != 0) {
        end_reading(error);
        return Read::Ended;
    }
    return Read::Progress;
}

int ChannelEnd::take(MessagePtr &out) noexcept
{
    if (!received_.empty()) {
        const bool was_full = !wants_read();
        out = std::move(received_.front());
        received_.pop_front();
        received_bytes_ -= static_cast<std::size_t>(out->size);
        if (was_full && wants_read())
            changed(); // the driving collection reads again
        return 0;
    }
    if (read_ended_) {
        if (read_error_ == 0)
            return 1;
        errno = read_error_;
        return -1;
    }
    errno = EAGAIN;
    return -1;
}

void ChannelEnd::abandon(int error) noexcept
{
    if (!read_ended_)
        end_reading(error);
}

void ChannelEnd::end_reading(int error) noexcept
{
    read_ended_ = true;
    read_error_ = error;
    scratch_.reset();
    changed();
}

bool make_channel_pair(WriteEnd &parent, WriteEnd &child, bool keep_child) noexcept
{
    bool child_listed = false;
    {
        int fds[2];
        ForkGuard guard; // a concurrent fork() sees both listed
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
            return false;
        fds[0] = move_above_stdio(fds[0]);
        const int err = errno;
        fds[1] = move_above_stdio(fds[1]);
        if (fds[0] < 0 || fds[1] < 0) {
            const int e = fds[0] < 0 ? err : errno;
            if (fds[0] >= 0)
                ::close(fds[0]);
            if (fds[1] >= 0)
                ::close(fds[1]);
            errno = e;
            return false;
        }
        if (!parent.adopt(fds[0], guard)) {
            ::close(fds[1]);
            return false;
        }
        child_listed = child.adopt(fds[1], guard, keep_child);
    }
    if (!child_listed) {
        const int e = errno;
        parent.reset(); // outside the guard: reset() takes it itself
        errno = e;
    }
    return child_listed;
}

} // namespace procreact
