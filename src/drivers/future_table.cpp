// SPDX-License-Identifier: MIT
//
// The future table: listing, claiming and recognising futures.
#include "future_table.hpp"

#include <cerrno>
#include <new>

#include "../types.hpp"
#include "procreact_exit.h"

namespace procreact
{
namespace
{

// The live futures. A forked child drops the parent's (its children are
// not the child's own).
TokenTable<Member> g_futures(TokenKind::Future);

constexpr int kMaxErrno = 1024; // a marker carries 10 bits (Linux errnos stay below 134)
constexpr int kMaxStatus = 64;

void drop_in_child() noexcept
{
    g_futures.drop_in_child();
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

bool is_finished_token(const void *state) noexcept
{
    unsigned code;
    return open_marker(state, TokenKind::Finished, &code) || open_marker(state, TokenKind::SpawnFailed, &code);
}

// The member for a future struct: the pid and descriptor must match.
bool matches(const Member &m, const ProcReact_Future &future) noexcept
{
    return m.child.pid() == future.pid && m.out.get() == future.fd;
}

} // namespace

ProcReact_Future empty_future(const ProcReact_Type &type) noexcept
{
    ProcReact_Future future;
    future.pid = -1;
    future.fd = -1;
    future.type = type;
    future.result = nullptr;
    future.state = nullptr;
    return future;
}

void *spawn_failed_marker(int error) noexcept
{
    if (error <= 0 || error >= kMaxErrno)
        error = EIO;
    return make_marker(TokenKind::SpawnFailed, static_cast<unsigned>(error));
}

int spawn_failed_errno(const void *state) noexcept
{
    unsigned code;
    return open_marker(state, TokenKind::SpawnFailed, &code) ? static_cast<int>(code) : 0;
}

bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept
{
    unsigned code;
    if (open_marker(future.state, TokenKind::SpawnFailed, &code)) {
        *status = PROCREACT_STATUS_FORK_FAIL;
        return true;
    }
    if (!open_marker(future.state, TokenKind::Finished, &code))
        return false;
    *status = static_cast<ProcReact_Status>(code);
    return true;
}

void mark_finished(ProcReact_Future &future, ProcReact_Status status) noexcept
{
    int index = static_cast<int>(status);
    if (index < 0 || index >= kMaxStatus)
        index = PROCREACT_STATUS_WAIT_FAIL;
    future.state = make_marker(TokenKind::Finished, static_cast<unsigned>(index));
    future.fd = -1;
}

void fill_unknown(const ProcReact_Future &future, ProcReact_ExitInfo *info) noexcept
{
    Details none;
    none.exec_errno = spawn_failed_errno(future.state);
    none.fill(info);
}

Identity claim(const ProcReact_Future &future, std::unique_ptr<Member> &member, const WakerRef *driver) noexcept
{
    if (is_finished_token(future.state))
        return Identity::Finished;
    if (future.pid <= 0)
        return Identity::Failed;
    Serial serial;
    if (!open_token(future.state, TokenKind::Future, &serial))
        return future.fd < 0 ? Identity::Failed : Identity::HandBuilt;
    // A stale copy finds nothing, or an entry for another child.
    bool registered = true;
    member = g_futures.take_if(future.state, [&](const Member &entry) {
        if (!matches(entry, future))
            return false;
        if (driver != nullptr && *driver) {
            try {
                drive_register_locked(serial, *driver); // no cancellation falls between
            } catch (...) {
                registered = false; // out of memory: only the whole collection can cancel it
            }
        }
        return true;
    });
    if (!member)
        return Identity::Stale;
    member->serial = registered ? serial : 0;
    member->future = future;
    return Identity::Live;
}

bool visit_waiting(const ProcReact_Future &future, void (*visit)(Member &, void *), void *arg) noexcept
{
    if (future.pid <= 0)
        return false;
    bool found = false;
    g_futures.take_if(future.state, [&](Member &entry) {
        if (matches(entry, future)) {
            found = true;
            visit(entry, arg);
        }
        return false; // stays listed
    });
    return found;
}

bool cancel_waiting(const ProcReact_Future &future) noexcept
{
    if (future.pid <= 0)
        return false;
    Serial serial = 0;
    std::unique_ptr<Member> lent = g_futures.take_if(
        future.state, [&](const Member &entry) { return matches(entry, future); }, true, &serial);
    if (!lent)
        return false;
    begin_stop(*lent, PROCREACT_EXIT_CANCELLED, monotonic_ns());
    g_futures.give_back(serial, std::move(lent));
    return true;
}

ProcReact_Future publish_future(std::unique_ptr<Member> member) noexcept
{
    ProcReact_Future future = empty_future(member->type);
    const pid_t pid = member->child.pid();
    const int fd = member->out.get();
    void *token;
    try {
        token = g_futures.insert(member);
    } catch (...) {
        errno = ENOMEM;
        return future; // the member is destroyed: its child killed and reaped
    }
    future.pid = pid;
    future.fd = fd;
    future.state = token;
    return future;
}

std::unique_ptr<Member> adopt_hand_built(const ProcReact_Future &future) noexcept
{
    std::unique_ptr<Member> m(new (std::nothrow) Member());
    if (!m)
        return m;
    m->type = future.type;
    m->builtin = is_builtin_type(future.type);
    m->out.reset(future.fd); // 0.1 closes it once read
    // Owned only if it really is an unreaped child of ours: never signal or
    // reap anybody else's process.
    ChildWatch child(future.pid, ChildWatch::Pidfd::Later);
    if (child.is_our_child()) {
        child.ensure_pidfd(true);
        m->child = std::move(child);
    } else {
        child.release();
    }
    if (m->builtin)
        m->type_state = builtin_initialize(future.type);
    else if (future.type.initialize != nullptr)
        m->type_state = future.type.initialize();
    return m;
}

} // namespace procreact
