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

ProcReact_Future start_future(const ProcReact_Type &type) noexcept
{
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

    UniqueFd read_end;
    WriteEnd write_end;
    if (!make_pipe(read_end, write_end, true))
        return future;

    const pid_t pid = ::fork();

    if (pid == 0) {
        // The child. Nothing here may throw or free: the parent's member
        // stays unreached (the child ends with _exit()). Its own read end is
        // closed, so that a parent that stops reading early makes its writes
        // fail instead of block.
        park_in_child(m.release());
        ::close(read_end.release());
        const int fd = write_end.release_in_child();
        // The result pipe is the child's own: keep it across exec().
        ::fcntl(fd, F_SETFD, 0);
        future.pid = 0;
        future.fd = fd;
        return future;
    }
    if (pid < 0)
        return future; // the member frees its built-in state; errno from fork()

    write_end.reset();
    m->details.start_ns = monotonic_ns();
    // The pidfd is opened now, before anything can reap the child.
    m->child = ChildWatch(pid, ChildWatch::Pidfd::Spawn);
    m->out = std::move(read_end);
    if (!m->builtin && type.initialize != nullptr)
        m->type_state = type.initialize();
    return publish_future(std::move(m));
}

} // namespace procreact
