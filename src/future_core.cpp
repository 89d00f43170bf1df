// SPDX-License-Identifier: MIT
#include "future_core.hpp"

#include <atomic>
#include <cerrno>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "types.hpp"

namespace procreact {
namespace {

// Completion markers: a finished future's state points at the entry of its status.
constexpr int kMarkers = 16;
char g_finished[kMarkers];

// The live futures, by serial. Changed under the global lock only; a forked
// child drops the parent's table (its children are not the child's own).
using Table = std::unordered_map<Serial, std::unique_ptr<FutureCore>>;
Table *g_table = nullptr;

// The parent's read end, grown once a child shows that it writes a lot. The
// default 64 KiB pipe makes a large transfer cost one context switch per 64
// KiB. Every grown pipe counts against the user's pipe budget
// (/proc/sys/fs/pipe-user-pages-soft), for every program of that user: only
// a few are grown at once.
constexpr std::uint64_t kGrowAfter = 64 * 1024;
constexpr int kBigPipe = 1 << 20;
constexpr int kMaxGrown = 16;
std::atomic<int> g_grown{0};

void drop_in_child() noexcept
{
    park_in_child(g_table);
    g_table = nullptr;
}

__attribute__((constructor)) void install_hook() { register_child_reset_hook(drop_in_child); }

bool is_marker(const void *state) noexcept
{
    const auto *marker = static_cast<const char *>(state);
    return marker >= &g_finished[0] && marker < &g_finished[kMarkers];
}

// Lists @p core under a fresh serial. Throws std::bad_alloc.
void publish(std::unique_ptr<FutureCore> &core)
{
    GlobalLock lock;
    if (g_table == nullptr)
        g_table = new Table();
    Serial serial;
    do
        serial = next_serial(TokenKind::Future);
    while (g_table->count(serial) != 0);
    core->serial = serial;
    (*g_table)[serial] = nullptr; // may throw: nothing is moved yet
    (*g_table)[serial] = std::move(core);
}

// Takes the core listed under @p serial back out of the table.
std::unique_ptr<FutureCore> unpublish(Serial serial) noexcept
{
    GlobalLock lock;
    std::unique_ptr<FutureCore> core;
    if (g_table == nullptr)
        return core;
    auto it = g_table->find(serial);
    if (it != g_table->end()) {
        core = std::move(it->second);
        g_table->erase(it);
    }
    return core;
}

// After a custom finalize: the child is reaped (by the finalize), reaped now
// (it has exited), or left to reap_leftovers() (it still runs).
void settle_child(ChildWatch &child) noexcept
{
    if (!child.owns())
        return;
    if (!child.is_our_child()) {
        child.release(); // the finalize reaped it
        return;
    }
    if (child.reap(nullptr, false) != 0)
        return;
    hand_to_reaper(std::move(child));
}

} // namespace

FutureCore::~FutureCore()
{
    end_reading(*this);
    // Abandoned before it finished: stop the child (the watch kills and
    // reaps it) and free a built-in state; a custom state has no free
    // function, so it is dropped.
    child.kill_and_reap();
    if (builtin)
        free_builtin_state(type, type_state);
}

bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept
{
    if (!is_marker(future.state))
        return false;
    *status = static_cast<ProcReact_Status>(static_cast<const char *>(future.state) - &g_finished[0]);
    return true;
}

void mark_finished(ProcReact_Future &future, ProcReact_Status status) noexcept
{
    int index = static_cast<int>(status);
    if (index < 0 || index >= kMarkers)
        index = kMarkers - 1;
    future.state = &g_finished[index];
    future.fd = -1;
}

Identity claim(const ProcReact_Future &future, std::unique_ptr<FutureCore> &core) noexcept
{
    if (is_marker(future.state))
        return Identity::Finished;
    if (future.pid <= 0 || future.fd < 0)
        return Identity::Failed;
    Serial serial;
    if (!open_token(future.state, TokenKind::Future, &serial))
        return Identity::HandBuilt;
    GlobalLock lock;
    if (g_table == nullptr)
        return Identity::Stale;
    auto it = g_table->find(serial);
    if (it == g_table->end() || it->second->child.pid() != future.pid || it->second->out.get() != future.fd)
        return Identity::Stale;
    core = std::move(it->second);
    g_table->erase(it);
    return Identity::Live;
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
    reap_leftovers();

    std::unique_ptr<FutureCore> core(new (std::nothrow) FutureCore());
    if (!core) {
        errno = ENOMEM;
        return future;
    }
    core->type = type;
    core->builtin = is_builtin_type(type);
    // A built-in reading state exists before the child does (the allocator's
    // pages are then not written while shared with a running child); a
    // custom one is made after the fork, so that a failed fork leaks nothing.
    if (core->builtin) {
        core->type_state = type.initialize();
        if (core->type_state == nullptr) {
            errno = ENOMEM;
            return future;
        }
    }

    UniqueFd read_end;
    WriteEnd write_end;
    if (!make_pipe(read_end, write_end))
        return future;
    FutureCore *raw = core.get();
    try {
        publish(core);
    } catch (...) {
        errno = ENOMEM;
        return future;
    }
    const Serial serial = raw->serial;

    keep_in_next_child(write_end.get());
    const pid_t pid = ::fork();
    keep_in_next_child(-1);

    if (pid == 0) {
        // The child. Nothing here may throw or free: the parent's core stays
        // in the dropped table. Its own read end is closed, so that a parent
        // that stops reading early makes its writes fail instead of block.
        ::close(read_end.release());
        const int fd = write_end.release_in_child();
        // The result pipe is the child's own: keep it across exec().
        ::fcntl(fd, F_SETFD, 0);
        future.pid = 0;
        future.fd = fd;
        return future;
    }
    if (pid < 0) {
        const int err = errno;
        core = unpublish(serial); // freed here, with its built-in state
        errno = err;
        return future;
    }

    write_end.reset();
    // Nobody else can reach the entry before the token exists.
    raw->child = ChildWatch(pid, ChildWatch::Pidfd::Later);
    raw->out = std::move(read_end);
    if (!raw->builtin && type.initialize != nullptr)
        raw->type_state = type.initialize();
    future.pid = pid;
    future.fd = raw->out.get();
    future.state = make_token(TokenKind::Future, serial);
    return future;
}

std::unique_ptr<FutureCore> adopt_hand_built(const ProcReact_Future &future) noexcept
{
    std::unique_ptr<FutureCore> core(new (std::nothrow) FutureCore());
    if (!core)
        return core;
    core->type = future.type;
    core->builtin = is_builtin_type(future.type);
    core->out.reset(future.fd); // 0.1 closes it once read
    // Owned only if it really is an unreaped child of ours: never signal or
    // reap anybody else's process.
    ChildWatch child(future.pid, ChildWatch::Pidfd::Later);
    if (child.is_our_child())
        core->child = std::move(child);
    else
        child.release();
    if (future.type.initialize != nullptr)
        core->type_state = future.type.initialize();
    return core;
}

Pump pump(FutureCore &core) noexcept
{
    if (core.type.append == nullptr || !core.out)
        return Pump::End;
    const ssize_t n = core.type.append(&core.type, core.type_state, core.out.get());
    if (n > 0) {
        if (!core.pipe_grown) {
            core.bytes_read += static_cast<std::uint64_t>(n);
            if (core.bytes_read >= kGrowAfter) {
                core.pipe_grown = true; // asked once, whatever the answer
                if (g_grown.fetch_add(1, std::memory_order_relaxed) < kMaxGrown &&
                    ::fcntl(core.out.get(), F_SETPIPE_SZ, kBigPipe) >= 0)
                    core.holds_big_pipe = true; // given back when the read end closes
                else
                    g_grown.fetch_sub(1, std::memory_order_relaxed);
            }
        }
        return Pump::Data;
    }
    // A built-in type reads itself, so its EAGAIN is real (a non-blocking
    // descriptor of a hand-built future). A custom type's -1 is its own error,
    // whatever errno it leaves behind.
    if (n < 0 && core.builtin && (errno == EAGAIN || errno == EWOULDBLOCK))
        return Pump::Again;
    return Pump::End;
}

void read_all(FutureCore &core) noexcept
{
    for (;;) {
        // A custom append does one read on a blocking descriptor: called only
        // once the descriptor is readable, its read cannot be interrupted, so
        // a -1 is the type's own error whatever errno says.
        if (!core.builtin && poll_readable(core.out.get(), -1) < 0)
            return;
        const Pump r = pump(core);
        if (r == Pump::End)
            return;
        if (r == Pump::Again && poll_readable(core.out.get(), -1) < 0)
            return;
    }
}

void end_reading(FutureCore &core) noexcept
{
    if (!core.out)
        return;
    if (core.holds_big_pipe)
        g_grown.fetch_sub(1, std::memory_order_relaxed);
    core.holds_big_pipe = false;
    core.out.reset();
}

void *finish(ProcReact_Future &future, std::unique_ptr<FutureCore> core, ProcReact_Status *status) noexcept
{
    end_reading(*core);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    void *result = nullptr;
    if (core->type.finalize == nullptr) {
        st = PROCREACT_STATUS_FORK_FAIL;
    } else if (core->builtin) {
        // The library reaps its own child, through the watch.
        ExitRecord record;
        Outcome outcome;
        if (core->child.reap(&record, true) == 1)
            outcome = outcome_of(record.wstatus);
        else
            outcome.status = PROCREACT_STATUS_WAIT_FAIL;
        result = finalize_builtin(core->type, core->type_state, outcome, &st);
        core->type_state = nullptr;
    } else {
        // A custom finalize waits for the pid itself, and is promised a
        // child that has exited (its wait returns at once; the read end is
        // closed, so a child still writing ends). Watching the child through
        // a pidfd first (while it is certainly unreaped) lets the library
        // tell afterwards, exactly, whether it is left to reap.
        core->child.ensure_pidfd();
        core->child.wait_exited();
        result = core->type.finalize(core->type_state, future.pid, &st);
        core->type_state = nullptr;
        settle_child(core->child);
    }
    future.result = result;
    mark_finished(future, st);
    if (status != nullptr)
        *status = st;
    return result;
}

} // namespace procreact
