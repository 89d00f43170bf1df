// SPDX-License-Identifier: MIT
#include "future_core.hpp"

#include <cerrno>
#include <memory>
#include <new>

#include <fcntl.h>
#include <unistd.h>

#include "types.hpp"

namespace procreact {
namespace {

// Completion markers: a finished future's state points at the entry of its status.
constexpr int kMarkers = 16;
char g_finished[kMarkers];

// In a future's child: the parent's core of that future (see start_future()).
FutureCore *volatile g_child_leftover = nullptr; // volatile: a store never read must stay

// The parent's read end, grown once a child shows that it writes a lot. The
// default 64 KiB pipe makes a large transfer cost one context switch per 64 KiB.
constexpr std::uint64_t kGrowAfter = 64 * 1024;
constexpr int kBigPipe = 1 << 20;

bool is_marker(const void *state) noexcept
{
    const auto *marker = static_cast<const char *>(state);
    return marker >= &g_finished[0] && marker < &g_finished[kMarkers];
}

void mark_finished(ProcReact_Future &future, ProcReact_Status status) noexcept
{
    int index = static_cast<int>(status);
    if (index < 0 || index >= kMarkers)
        index = kMarkers - 1;
    future.state = &g_finished[index];
    future.fd = -1;
}

void *call_finalize(ProcReact_Future &future, void *type_state, ProcReact_Status *status) noexcept
{
    if (future.type.finalize == nullptr) {
        *status = PROCREACT_STATUS_FORK_FAIL;
        return nullptr;
    }
    return future.type.finalize(type_state, future.pid, status);
}

} // namespace

FutureCore *core_of(const ProcReact_Future &future) noexcept
{
    if (future.state == nullptr || is_marker(future.state))
        return nullptr;
    auto *candidate = static_cast<FutureCore *>(future.state);
    return candidate->tag == FutureCore::kTag ? candidate : nullptr;
}

bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept
{
    if (!is_marker(future.state))
        return false;
    *status = static_cast<ProcReact_Status>(static_cast<const char *>(future.state) - &g_finished[0]);
    return true;
}

ProcReact_Future start_future(const ProcReact_Type &type) noexcept
{
    ProcReact_Future future;
    future.pid = -1;
    future.fd = -1;
    future.type = type;
    future.result = nullptr;
    future.state = nullptr;
    if (type.append == nullptr || type.finalize == nullptr) {
        errno = EINVAL;
        return future;
    }

    std::unique_ptr<FutureCore> core(new (std::nothrow) FutureCore());
    if (!core) {
        errno = ENOMEM;
        return future;
    }

    // The reading state exists before the child does, so that nothing can
    // fail once a child runs.
    if (type.initialize != nullptr) {
        core->type_state = type.initialize();
        if (core->type_state == nullptr && is_builtin_type(type)) {
            errno = ENOMEM;
            return future;
        }
    }
    struct StateGuard {
        const ProcReact_Type &type;
        FutureCore *core;
        ~StateGuard()
        {
            // Reached on failure only: a built-in state is freed
            // by finalizing it against no process (pid -1 waits for nothing);
            // a custom one has no free function we could call.
            if (core != nullptr && core->type_state != nullptr && is_builtin_type(type)) {
                ProcReact_Status ignored;
                type.finalize(core->type_state, -1, &ignored);
            }
        }
    } state_guard{type, core.get()};

    UniqueFd read_end, write_end;
    if (!make_pipe(read_end, write_end))
        return future;

    keep_in_next_child(write_end.get());
    const pid_t pid = ::fork();
    keep_in_next_child(-1);

    if (pid == 0) {
        // The child. The fork handler has closed the library's other
        // descriptors. Nothing here may throw, and as little as possible is
        // touched (each page written is a copy): the parent's core is left
        // as it is, reachable from g_child_leftover so that a leak checker in
        // the child does not report it, and never freed, since the child
        // ends with _exit() in the caller's code.
        const int fd = write_end.release();
        read_end.release();
        g_child_leftover = core.release();
        state_guard.core = nullptr;
        // The result pipe is the child's own: keep it across exec().
        ::fcntl(fd, F_SETFD, 0);
        future.pid = 0;
        future.fd = fd;
        return future;
    }
    if (pid < 0)
        return future;

    write_end.reset();
    // The pidfd is opened only where it is needed (an iterator, a custom
    // type, abandoning): a plain get of a built-in type waits by pid alone.
    core->child = ChildWatch(pid, false);
    core->read_fd = std::move(read_end);
    future.pid = pid;
    future.fd = core->read_fd.get();
    state_guard.core = nullptr;
    future.state = core.release(); // owned by the future from here on
    return future;
}

Pump pump(ProcReact_Future &future, FutureCore *core) noexcept
{
    if (future.type.append == nullptr || future.fd < 0)
        return Pump::End;
    void *type_state = core != nullptr ? core->type_state : future.state;
    ssize_t n;
    do
        n = future.type.append(&future.type, type_state, future.fd);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        if (core != nullptr && !core->pipe_grown) {
            core->bytes_read += static_cast<std::uint64_t>(n);
            if (core->bytes_read >= kGrowAfter) {
                core->pipe_grown = true;
                ::fcntl(future.fd, F_SETPIPE_SZ, kBigPipe); // EPERM/EBUSY: keep the default
            }
        }
        return Pump::Data;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return Pump::Again;
    return Pump::End;
}

void *finish(ProcReact_Future &future, ProcReact_Status *status) noexcept
{
    ProcReact_Status st = PROCREACT_STATUS_OK;
    void *result;
    if (FutureCore *core = core_of(future)) {
        // A built-in finalize reaps its child. A custom one may not: watch the
        // child through a pidfd first, while it is certainly unreaped, so that
        // a zombie it leaves can be reaped without naming anybody else
        // (without a pidfd it is left alone: its pid may have been recycled).
        // A custom finalize is also promised an exited child (its wait then
        // returns at once); in an iterator the child has exited already.
        const bool builtin = is_builtin_type(future.type);
        if (!builtin) {
            core->child.ensure_pidfd();
            core->child.wait_exited();
        }
        result = call_finalize(future, core->type_state, &st);
        core->type_state = nullptr;
        if (!builtin && core->child.pidfd() >= 0)
            core->child.reap(nullptr, true);
        delete core;
    } else {
        result = call_finalize(future, future.state, &st);
        if (future.fd >= 0)
            ::close(future.fd);
    }
    future.result = result;
    mark_finished(future, st);
    if (status != nullptr)
        *status = st;
    return result;
}

void abandon(ProcReact_Future &future) noexcept
{
    FutureCore *core = core_of(future);
    if (core == nullptr) {
        // Not ours (hand-built): release the descriptor, nothing more is known.
        if (future.fd >= 0 && future.pid > 0)
            ::close(future.fd);
        future.fd = -1;
        return;
    }
    core->read_fd.reset();
    future.fd = -1;
    core->child.ensure_pidfd();
    core->child.kill();
    ProcReact_Status ignored;
    void *result = call_finalize(future, core->type_state, &ignored);
    core->type_state = nullptr;
    free_builtin_result(future.type, result);
    if (core->child.pidfd() >= 0)
        core->child.reap(nullptr, true);
    delete core;
    future.result = nullptr;
    future.state = nullptr;
}

} // namespace procreact
