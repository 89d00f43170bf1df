// SPDX-License-Identifier: MIT
//
// The fork path of procreact_initialize_future(): pipe, fork, member.
#include "future_start.hpp"

#include <cerrno>
#include <new>

#include <fcntl.h>
#include <unistd.h>

#include "../types.hpp"
#include "future_table.hpp"

namespace procreact
{

ProcReact_Future start_future(const ProcReact_Type &type, ProcReact_ChannelMode mode,
                              ProcReact_Channel **child_end) noexcept
{
    if (child_end != nullptr)
        *child_end = nullptr;
    ProcReact_Future future = empty_future(type);
    if (type.append == nullptr || type.finalize == nullptr) {
        errno = EINVAL;
        return future;
    }
    reap_leftovers();

    std::unique_ptr<Member> m(new (std::nothrow) Member());
    if (!m) {
        errno = ENOMEM;
        return future;
    }
    m->type = type;
    m->builtin = is_builtin_type(type);
    // A built-in reading state exists before the child does (the allocator's
    // pages are then not written while shared with a running child); a
    // custom one is made after the fork, so that a failed fork leaks nothing.
    if (m->builtin) {
        m->type_state = builtin_initialize(type);
        if (m->type_state == nullptr) {
            errno = ENOMEM;
            return future;
        }
    }

    // The channel: both ends and both objects exist before the fork, so the
    // child only takes its own (it allocates nothing there).
    UniqueFd parent_sock;
    WriteEnd child_sock;
    std::unique_ptr<ProcReact_Channel> child_handle;
    if (mode != PROCREACT_CHANNEL_NONE) {
        if (!make_channel_pair(parent_sock, child_sock, true))
            return future;
        try {
            child_handle.reset(new ProcReact_Channel());
            child_handle->end = std::make_shared<ChannelEnd>(UniqueFd(), mode);
            m->chan = std::make_shared<ChannelEnd>(std::move(parent_sock), mode);
        } catch (...) {
            errno = ENOMEM;
            return future;
        }
    }
    UniqueFd read_end;
    WriteEnd write_end;
    if (!make_pipe(read_end, write_end, true))
        return future;

    // Read before the fork: the member lives in unshared memory, which the
    // child finds zeroed.
    const int parent_chan_fd = m->chan ? m->chan->fd() : -1;
    const pid_t pid = ::fork();

    if (pid == 0) {
        // The child. Nothing here may throw or free: the parent's member
        // stays unreached (the child ends with _exit()). Its own read end is
        // closed, so that a parent that stops reading early makes its writes
        // fail instead of block.
        // The channel's parent end is not listed (the work per fork stays
        // constant): this child closes its copy itself, so that its own
        // end of stream never waits on it.
        if (parent_chan_fd >= 0)
            ::close(parent_chan_fd);
        park_in_child(m.release());
        ::close(read_end.release());
        const int fd = write_end.release_in_child();
        // The result pipe is the child's own: keep it across exec().
        ::fcntl(fd, F_SETFD, 0);
        future.pid = 0;
        future.fd = fd;
        if (child_handle) {
            child_handle->end->own_in_child(child_sock.release_in_child());
            if (child_end != nullptr)
                *child_end = child_handle.release();
            else
                park_in_child(child_handle.release());
        }
        return future;
    }
    if (pid < 0)
        return future; // the member frees its built-in state; errno from fork()

    write_end.reset();
    child_sock.reset();
    m->details.start_ns = monotonic_ns();
    // The pidfd is opened now, before anything can reap the child.
    m->child = ChildWatch(pid, ChildWatch::Pidfd::Spawn);
    m->out = std::move(read_end);
    m->out_blocks = true;
    if (!m->builtin && type.initialize != nullptr)
        m->type_state = type.initialize();
    return publish_future(std::move(m));
}

} // namespace procreact
