// SPDX-License-Identifier: MIT
//
// procreact_channel.h: channel handles, sending, receiving and messages.
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>

#include <poll.h>
#include <sys/socket.h>
#include <fcntl.h>

#include "../engine/channel_end.hpp"
#include "../os/clock.hpp"
#include "procreact_channel.h"

using namespace procreact;

namespace
{

bool valid_mode(ProcReact_ChannelMode mode) noexcept
{
    return mode == PROCREACT_CHANNEL_FRAMED || mode == PROCREACT_CHANNEL_LINES;
}

// Waits up to what is left of @p deadline for @p events on @p fd. Returns
// false on a timeout (errno ETIMEDOUT) or a failed poll().
bool wait_for(int fd, short events, const Deadline &deadline) noexcept
{
    const int timeout = deadline.remaining_ms();
    struct pollfd p = {fd, events, 0};
    const int r = wait_retry(timeout, [&](int ms) { return ::poll(&p, 1, ms); });
    if (r == 0)
        errno = ETIMEDOUT;
    return r > 0;
}

// Reads what the socket holds now until a message is complete or nothing more is there.
void read_available(ChannelEnd &end) noexcept
{
    while (!end.has_message() && end.read_some() == ChannelEnd::Read::Progress)
        ;
}

// ChannelEnd::take() into the caller's @p message (NULL unless 0 is returned).
int take_message(ChannelEnd &end, ProcReact_Message **message) noexcept
{
    *message = nullptr;
    MessagePtr taken;
    const int r = end.take(taken);
    if (r == 0)
        *message = taken.release();
    return r;
}

} // namespace

extern "C" {

ProcReact_Channel *procreact_channel_open_fd(int fd, ProcReact_ChannelMode mode) noexcept
{
    if (fd < 0 || !valid_mode(mode) || ::fcntl(fd, F_GETFD) == -1) {
        errno = EINVAL;
        return nullptr;
    }
    auto *handle = new (std::nothrow) ProcReact_Channel();
    if (handle == nullptr) {
        errno = ENOMEM;
        return nullptr;
    }
    UniqueFd owned(fd);
    try {
        handle->end = std::make_shared<ChannelEnd>(std::move(owned), mode);
    } catch (...) {
        owned.release(); // still the caller's
        delete handle;
        errno = ENOMEM;
        return nullptr;
    }
    return handle;
}

ProcReact_Channel *procreact_channel_child_open(void) noexcept
{
    const char *number = std::getenv(PROCREACT_CHANNEL_FD_ENV);
    if (number == nullptr || number[0] == '\0') {
        errno = ENOENT;
        return nullptr;
    }
    char *stop = nullptr;
    errno = 0;
    const long fd = std::strtol(number, &stop, 10);
    if (errno != 0 || *stop != '\0' || fd < 0 || fd > INT_MAX || ::fcntl(static_cast<int>(fd), F_GETFD) == -1) {
        errno = EBADF;
        return nullptr;
    }
    const char *mode_name = std::getenv(PROCREACT_CHANNEL_MODE_ENV);
    const ProcReact_ChannelMode mode = mode_name != nullptr && std::strcmp(mode_name, "lines") == 0
                                           ? PROCREACT_CHANNEL_LINES
                                           : PROCREACT_CHANNEL_FRAMED;
    // Our end is not handed on to the programs this one runs.
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return procreact_channel_open_fd(static_cast<int>(fd), mode);
}

void procreact_channel_free(ProcReact_Channel *channel) noexcept
{
    delete channel;
}

int procreact_channel_fd(const ProcReact_Channel *channel) noexcept
{
    if (channel == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return channel->end->fd();
}

int procreact_channel_set_max_message(ProcReact_Channel *channel, uint64_t max_bytes) noexcept
{
    if (channel == nullptr || max_bytes == 0 || max_bytes > static_cast<uint64_t>(INT64_MAX)) {
        errno = EINVAL;
        return -1;
    }
    channel->end->set_max_message(max_bytes);
    return 0;
}

int procreact_channel_set_queue_limits(ProcReact_Channel *channel, size_t high_water, size_t hard_cap) noexcept
{
    if (channel == nullptr || high_water == 0 || hard_cap == 0 || high_water > hard_cap) {
        errno = EINVAL;
        return -1;
    }
    channel->end->set_queue_limits(high_water, hard_cap);
    return 0;
}

int procreact_channel_send(ProcReact_Channel *channel, const void *data, size_t size, const int *fds,
                           unsigned int nfds) noexcept
{
    if (channel == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return channel->end->send(data, size, fds, nfds);
}

int procreact_channel_send_wait(ProcReact_Channel *channel, const void *data, size_t size, const int *fds,
                                unsigned int nfds, int timeout_ms) noexcept
{
    if (channel == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return channel->end->send_wait(data, size, fds, nfds, timeout_ms);
}

int procreact_channel_flush(ProcReact_Channel *channel, int timeout_ms) noexcept
{
    if (channel == nullptr) {
        errno = EINVAL;
        return -1;
    }
    ChannelEnd &end = *channel->end;
    const Deadline deadline(timeout_ms);
    int result = 0;
    for (;;) {
        if (!end.flush()) {
            result = -1;
            break;
        }
        if (end.queued() == 0)
            break;
        if (!wait_for(end.fd(), POLLOUT, deadline)) {
            result = -1;
            break;
        }
    }
    const int saved = errno;
    end.changed(); // the driving collection stops waiting to write
    errno = saved;
    return result;
}

int procreact_channel_shutdown(ProcReact_Channel *channel) noexcept
{
    if (channel == nullptr) {
        errno = EINVAL;
        return -1;
    }
    channel->end->shutdown_send();
    channel->end->changed();
    return 0;
}

int procreact_channel_set_coalesce(ProcReact_Channel *channel, int on) noexcept
{
    if (channel == nullptr) {
        errno = EINVAL;
        return -1;
    }
    channel->end->set_coalesce(on != 0);
    return 0;
}

size_t procreact_channel_queued(const ProcReact_Channel *channel) noexcept
{
    return channel != nullptr ? channel->end->queued() : 0;
}

int procreact_channel_try_recv(ProcReact_Channel *channel, ProcReact_Message **message) noexcept
{
    if (channel == nullptr || message == nullptr) {
        errno = EINVAL;
        return -1;
    }
    ChannelEnd &end = *channel->end;
    read_available(end);
    return take_message(end, message);
}

int procreact_channel_recv(ProcReact_Channel *channel, ProcReact_Message **message, int timeout_ms) noexcept
{
    if (channel == nullptr || message == nullptr) {
        errno = EINVAL;
        return -1;
    }
    if (timeout_ms < 0) {
        // Without a deadline the read itself sleeps: one call per wait
        // instead of a read that finds nothing, a poll() and a read.
        ChannelEnd &end = *channel->end;
        while (!end.has_message() && !end.read_ended()) {
            const ChannelEnd::Read got = end.read_some(true);
            if (got == ChannelEnd::Read::Again && !wait_for(end.fd(), POLLIN, Deadline(-1)))
                return -1;
        }
        return take_message(end, message);
    }
    const Deadline deadline(timeout_ms);
    for (;;) {
        const int r = procreact_channel_try_recv(channel, message);
        if (r != -1 || errno != EAGAIN)
            return r;
        if (!wait_for(channel->end->fd(), POLLIN, deadline))
            return -1;
    }
}

int procreact_channel_recv_many(ProcReact_Channel *channel, ProcReact_Message **messages, unsigned int capacity,
                                int timeout_ms) noexcept
{
    if (channel == nullptr || messages == nullptr || capacity == 0 || capacity > INT_MAX) {
        errno = EINVAL;
        return -1;
    }
    ProcReact_Message *first = nullptr;
    const int r = procreact_channel_recv(channel, &first, timeout_ms);
    if (r != 0)
        return r == 1 ? 0 : -1;
    messages[0] = first;
    // The rest: what is already parsed, then what the socket holds now.
    ChannelEnd &end = *channel->end;
    unsigned int count = 1;
    while (count < capacity) {
        MessagePtr taken;
        if (!end.has_message() && end.read_some() != ChannelEnd::Read::Progress && !end.has_message())
            break;
        if (end.take(taken) != 0)
            break;
        messages[count++] = taken.release();
    }
    return static_cast<int>(count);
}

const void *procreact_message_data(const ProcReact_Message *message) noexcept
{
    return message != nullptr ? message->data : "";
}

uint64_t procreact_message_size(const ProcReact_Message *message) noexcept
{
    return message != nullptr ? message->size : 0;
}

unsigned int procreact_message_fd_count(const ProcReact_Message *message) noexcept
{
    return message != nullptr ? static_cast<unsigned int>(message->fds.size()) : 0;
}

int procreact_message_take_fd(ProcReact_Message *message, unsigned int index) noexcept
{
    if (message == nullptr || index >= message->fds.size() || !message->fds[index]) {
        errno = EINVAL;
        return -1;
    }
    return message->fds[index].release();
}

int procreact_message_fds_truncated(const ProcReact_Message *message) noexcept
{
    return message != nullptr && message->fds_truncated ? 1 : 0;
}

void procreact_message_free(ProcReact_Message *message) noexcept
{
    delete message;
}

} // extern "C"
