// SPDX-License-Identifier: MIT
//
// procreact_future_iterator.h: many futures at once.
//
// The iterator's state lives behind the public `futures` pointer (which
// clients never touch): an epoll instance watching every running child's pipe
// and pidfd, and one slot per running future. procreact_buffer() sleeps in
// epoll_wait() until any child has output, hangs up or exits, calls the
// type's append once per readable pipe, and completes each future whose pipe
// has ended and whose child has exited. A type's finalize therefore never
// blocks, and a quiet child never delays another.
#include "procreact_future_iterator.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <vector>

#include <sys/epoll.h>

#include "boundary.hpp"
#include "future_core.hpp"
#include "process.hpp"
#include "run_limited.hpp"
#include "types.hpp"

namespace procreact {
namespace {

struct Slot {
    ProcReact_Future future{};
    FutureCore *core = nullptr; // null for a hand-built future
    ChildWatch own_watch;       // used when core is null
    std::size_t index = 0;
    bool eof = false;
    bool exited = false;

    ChildWatch &watch() noexcept { return core != nullptr ? core->child : own_watch; }
};

// Tags in epoll_event.data: the slot pointer, low bit set for the pidfd.
constexpr std::uintptr_t kPidTag = 1;

// Back-off while a child's exit can only be polled for (no pidfd).
constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 50;

class IteratorCore {
public:
    IteratorCore() : epoll_(move_above_stdio(::epoll_create1(EPOLL_CLOEXEC)))
    {
        if (!epoll_)
            throw std::bad_alloc();
    }

    std::size_t running() const noexcept { return slots_.size(); }

    // Takes over a running future. Throws (leaving the future untouched) when
    // it cannot be watched.
    void add(const ProcReact_Future &future)
    {
        auto slot = std::make_unique<Slot>();
        slot->future = future;
        slot->core = core_of(future);
        if (slot->core == nullptr)
            slot->own_watch = ChildWatch(future.pid);
        else
            slot->core->child.ensure_pidfd();
        slots_.reserve(slots_.size() + 1);
        pending_exit_.reserve(slots_.size() + 1);
        if (!watch_fd(future.fd, tag(slot.get(), false)))
            throw std::bad_alloc();
        const int pidfd = slot->watch().pidfd();
        if (pidfd >= 0 && !watch_fd(pidfd, tag(slot.get(), true))) {
            unwatch_fd(future.fd);
            throw std::bad_alloc();
        }
        slot->index = slots_.size();
        slots_.push_back(std::move(slot));
    }

    // Waits for events and moves the finished slots into @p done.
    void step(std::vector<std::unique_ptr<Slot>> &done)
    {
        std::vector<Slot *> ready;
        const int timeout = pending_exit_.empty() ? -1 : backoff_ms_;
        epoll_event events[64];
        const int n = wait_retry(timeout, [&](int left) { return ::epoll_wait(epoll_.get(), events, 64, left); });
        // Reserve before any slot changes state, so nothing below can throw
        // and leave a finished slot unlisted.
        const std::size_t most = static_cast<std::size_t>(n > 0 ? n : 0) + pending_exit_.size();
        ready.reserve(most);
        done.reserve(done.size() + most);

        for (int i = 0; i < n; ++i) {
            const auto raw = static_cast<std::uintptr_t>(events[i].data.u64);
            Slot *slot = reinterpret_cast<Slot *>(raw & ~kPidTag);
            if ((raw & kPidTag) != 0) {
                unwatch_fd(slot->watch().pidfd());
                slot->exited = true;
            } else if (pump(slot->future, slot->core) == Pump::End) {
                unwatch_fd(slot->future.fd);
                slot->eof = true;
                if (slot->watch().pidfd() < 0)
                    pending_exit_.push_back(slot);
            } else {
                continue;
            }
            if (slot->eof && slot->exited)
                ready.push_back(slot);
        }

        // Children whose exit cannot be watched: look, and back off while none moves.
        if (!pending_exit_.empty()) {
            bool moved = false;
            for (std::size_t i = 0; i < pending_exit_.size();) {
                Slot *slot = pending_exit_[i];
                if (slot->watch().has_exited()) {
                    slot->exited = true;
                    ready.push_back(slot);
                    pending_exit_[i] = pending_exit_.back();
                    pending_exit_.pop_back();
                    moved = true;
                } else {
                    ++i;
                }
            }
            backoff_ms_ = moved ? kFirstBackoffMs : std::min(backoff_ms_ * 2, kMaxBackoffMs);
        }

        for (Slot *slot : ready)
            done.push_back(remove(slot));
    }

    // Kills and reaps every running child, discarding its partial result.
    void abandon_all() noexcept
    {
        for (auto &slot : slots_) {
            abandon(slot->future);
            slot->own_watch.kill_and_reap();
        }
        slots_.clear();
        pending_exit_.clear();
    }

private:
    static std::uint64_t tag(Slot *slot, bool pid) noexcept
    {
        return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(slot) | (pid ? kPidTag : 0));
    }

    bool watch_fd(int fd, std::uint64_t data) noexcept
    {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = data;
        return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
    }

    void unwatch_fd(int fd) noexcept
    {
        if (fd >= 0)
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }

    std::unique_ptr<Slot> remove(Slot *slot) noexcept
    {
        const std::size_t index = slot->index;
        std::unique_ptr<Slot> taken = std::move(slots_[index]);
        if (index + 1 != slots_.size()) {
            slots_[index] = std::move(slots_.back());
            slots_[index]->index = index;
        }
        slots_.pop_back();
        return taken;
    }

    UniqueFd epoll_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<Slot *> pending_exit_;
    int backoff_ms_ = kFirstBackoffMs;
};

IteratorCore *core_of(const ProcReact_FutureIterator *iterator) noexcept
{
    return reinterpret_cast<IteratorCore *>(iterator->futures);
}

void deliver(ProcReact_FutureIterator *iterator, ProcReact_Future *future, ProcReact_Status status) noexcept
{
    if (iterator->complete != nullptr)
        iterator->complete(iterator->data, future, status);
    else
        free_builtin_result(future->type, future->result);
}

// Completes a future without the iterator's machinery (when it could not
// take the future over): blocks for this one child, loses nothing.
void complete_synchronously(ProcReact_FutureIterator *iterator, ProcReact_Future future) noexcept
{
    ProcReact_Status status;
    procreact_future_get(&future, &status);
    deliver(iterator, &future, status);
}

void sync_count(ProcReact_FutureIterator *iterator) noexcept
{
    IteratorCore *core = core_of(iterator);
    iterator->running_processes = core != nullptr ? static_cast<unsigned int>(core->running()) : 0;
}

} // namespace
} // namespace procreact

using namespace procreact;

extern "C" {

ProcReact_FutureIterator procreact_initialize_future_iterator(ProcReact_FutureIteratorHasNext has_next,
                                                             ProcReact_FutureIteratorNext next,
                                                             ProcReact_FutureIteratorComplete complete,
                                                             void *data) noexcept
{
    ProcReact_FutureIterator iterator;
    iterator.has_next = has_next;
    iterator.next = next;
    iterator.complete = complete;
    iterator.data = data;
    iterator.running_processes = 0;
    iterator.futures = nullptr;
    return iterator;
}

void procreact_destroy_future_iterator(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return;
    if (IteratorCore *core = core_of(iterator)) {
        core->abandon_all();
        delete core;
    }
    iterator->futures = nullptr;
    iterator->running_processes = 0;
}

ProcReact_bool procreact_spawn_next_future(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr || iterator->has_next == nullptr || iterator->next == nullptr)
        return 0;
    if (!iterator->has_next(iterator->data))
        return 0;

    ProcReact_Future future = iterator->next(iterator->data);
    ProcReact_Status status;
    if (finished_status(future, &status)) {
        // Already completed by the client (for instance with procreact_future_get()).
        deliver(iterator, &future, status);
        return 1;
    }
    if (future.pid <= 0) {
        future.result = nullptr;
        deliver(iterator, &future, PROCREACT_STATUS_FORK_FAIL);
        return 1;
    }
    const bool taken = guard(false, [&] {
        IteratorCore *core = core_of(iterator);
        if (core == nullptr) {
            core = new IteratorCore();
            iterator->futures = reinterpret_cast<ProcReact_Future *>(core);
        }
        core->add(future);
        return true;
    });
    if (!taken)
        complete_synchronously(iterator, future);
    sync_count(iterator);
    return 1;
}

unsigned int procreact_buffer(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return 0;
    IteratorCore *core = core_of(iterator);
    if (core == nullptr || core->running() == 0) {
        iterator->running_processes = 0;
        return 0;
    }
    std::vector<std::unique_ptr<Slot>> done;
    guard_void([&] { core->step(done); });
    sync_count(iterator);
    // Callbacks last: they may spawn more futures into this iterator.
    for (auto &slot : done) {
        ProcReact_Status status;
        finish(slot->future, &status);
        slot->own_watch.reset();
        deliver(iterator, &slot->future, status);
    }
    return iterator->running_processes;
}

void procreact_fork_in_parallel_buffer_and_wait(ProcReact_FutureIterator *iterator) noexcept
{
    run_limited(iterator, 0, procreact_spawn_next_future, procreact_buffer);
}

void procreact_fork_buffer_and_wait_in_parallel_limit(ProcReact_FutureIterator *iterator,
                                                      const unsigned int limit) noexcept
{
    run_limited(iterator, limit, procreact_spawn_next_future, procreact_buffer);
}

} // extern "C"
