// SPDX-License-Identifier: MIT
//
// ChannelEnd: receiving (frames, SCM_RIGHTS), the received queue, the socket pair.
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

// Reads of headers and small messages: large, so that one read carries
// thousands of small frames. The parser copies every byte out of it, so
// one buffer per thread serves every channel end.
constexpr std::size_t kScratch = 256 * 1024;
constexpr std::size_t kDirect = 16 * 1024; // a body left this big is read in place

thread_local std::unique_ptr<char[]> t_scratch;

} // namespace

ChannelEnd::ChannelEnd(UniqueFd &&plain, ProcReact_ChannelMode mode)
    : fd_(-1), mode_(mode), parser_(mode, PROCREACT_CHANNEL_DEFAULT_MAX_MESSAGE)
{
    // Taken once every member is made: a member that failed to allocate
    // leaves the descriptor with the caller, not closed by the unwinding.
    plain_ = std::move(plain);
    fd_ = plain_.get();
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

bool ChannelEnd::take_writable_event() noexcept
{
    const bool due = writable_due_;
    writable_due_ = false;
    return due;
}

ChannelEnd::Read ChannelEnd::read_some(bool wait) noexcept
{
    if (read_ended_)
        return Read::Ended;
    std::size_t room = 0;
    char *target = parser_.body_target(kDirect, room);
    char *buf = target;
    if (target == nullptr) {
        if (!t_scratch) {
            t_scratch.reset(new (std::nothrow) char[kScratch]);
            if (!t_scratch) {
                end_reading(ENOMEM);
                return Read::Ended;
            }
        }
        buf = t_scratch.get();
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
        n = ::recvmsg(fd_, &msg, (wait ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
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
    changed();
}

bool make_channel_pair(UniqueFd &parent, WriteEnd &child, bool keep_child) noexcept
{
    int fds[2];
    ForkGuard guard; // a concurrent fork() sees the child's end listed
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0 || !pair_above_stdio(fds))
        return false;
    UniqueFd ours(fds[0]);
    if (!child.adopt(fds[1], guard, keep_child))
        return false; // errno ENOMEM; both closed
    parent = std::move(ours);
    return true;
}

} // namespace procreact
