// SPDX-License-Identifier: MIT
//
// procreact_future_iterator.h: many futures at once.
//
// The iterator's state is an IteratorCore in a table the library owns; the
// public `futures` field (which clients never touch) holds its token (see
// handle.hpp), so copies of the iterator struct share one state and a stale
// or hand-filled struct never leads the library into memory it did not
// make. The core owns an epoll instance and one slot per running future:
// procreact_buffer() sleeps in epoll_wait() until any child has output or
// exits, calls the type's append once per readable pipe, closes a pipe as
// soon as reading ends, and completes each future whose child has exited
// (watched by a pidfd opened only then, in place of the pipe, so a running
// future costs one descriptor as in 0.1). A type's finalize therefore never
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
#include "handle.hpp"
#include "process.hpp"
#include "run_limited.hpp"
#include "types.hpp"

namespace procreact
{
namespace
{

struct Slot {
    ProcReact_Future future{}; // the copy handed to `complete`
    std::unique_ptr<FutureCore> core;
    std::size_t index = 0;
    bool exited = false;
};

// Tags in epoll_event.data: the slot pointer, its low bits saying which of
// the slot's descriptors it is.
enum Stream : std::uintptr_t { kOut = 0, kPid = 1, kErr = 2, kIn = 3 };
constexpr std::uintptr_t kStreamMask = 3;

// Back-off while a child's exit can only be polled for (no pidfd).
constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 50;

/// Why a run had to stop: the status every running future completes with.
struct RunFailure {
    ProcReact_Status status;
};

class IteratorCore
{
  public:
    IteratorCore() : epoll_(move_above_stdio(::epoll_create1(EPOLL_CLOEXEC)))
    {
        if (!epoll_)
            throw std::bad_alloc();
    }

    std::size_t running() const noexcept { return slots_.size(); }

    // Takes over @p core's running future. Returns false (leaving @p core
    // untouched) when it cannot be watched; throws std::bad_alloc likewise.
    bool add(const ProcReact_Future &future, std::unique_ptr<FutureCore> &core)
    {
        auto slot = std::make_unique<Slot>();
        slots_.reserve(slots_.size() + 1);
        pending_exit_.reserve(slots_.size() + 1);
        Slot *raw = slot.get();
        if (core->out && !watch_fd(core->out.get(), tag(raw, kOut), EPOLLIN))
            return false;
        if ((core->err && !watch_fd(core->err.get(), tag(raw, kErr), EPOLLIN)) ||
            (core->in.valid() && !watch_fd(core->in.get(), tag(raw, kIn), EPOLLOUT))) {
            unwatch_fd(core->out.get());
            unwatch_fd(core->err.get());
            return false;
        }
        slot->future = future;
        slot->core = std::move(core);
        slot->index = slots_.size();
        slots_.push_back(std::move(slot));
        // A child with no output stream to watch is watched for its exit now.
        if (reading_done(*raw->core)) {
            watch_exit(*raw);
            if (raw->exited)
                pending_exit_.push_back(raw); // completes at the next step (reserved above)
        }
        return true;
    }

    // Waits for events and moves the finished slots into @p done. Throws
    // RunFailure when waiting itself fails, std::bad_alloc when out of memory.
    void step(std::vector<std::unique_ptr<Slot>> &done)
    {
        const int timeout = pending_exit_.empty() ? -1 : backoff_ms_;
        epoll_event events[64];
        const int n = wait_retry(timeout, [&](int left) { return ::epoll_wait(epoll_.get(), events, 64, left); });
        if (n < 0)
            throw RunFailure{PROCREACT_STATUS_WAIT_FAIL};
        // Reserve before any slot changes state, so nothing below can throw
        // and leave a finished slot unlisted.
        std::vector<Slot *> ready;
        const std::size_t most = static_cast<std::size_t>(n) + pending_exit_.size();
        ready.reserve(most);
        done.reserve(done.size() + most);
        pending_exit_.reserve(pending_exit_.size() + static_cast<std::size_t>(n));

        for (int i = 0; i < n; ++i) {
            const auto raw = static_cast<std::uintptr_t>(events[i].data.u64);
            Slot *slot = reinterpret_cast<Slot *>(raw & ~kStreamMask);
            FutureCore &core = *slot->core;
            switch (raw & kStreamMask) {
            case kPid:
                unwatch_fd(core.child.pidfd());
                slot->exited = true;
                if (reading_done(core))
                    ready.push_back(slot);
                break;
            case kOut:
                if (core.out && pump(core) == Pump::End) {
                    unwatch_fd(core.out.get());
                    procreact::end_reading(core);
                    if (reading_done(core))
                        watch_exit(*slot);
                    if (slot->exited)
                        ready.push_back(slot);
                }
                break;
            case kErr:
                if (core.err && !pump_err(core)) {
                    unwatch_fd(core.err.get());
                    core.err.reset();
                    if (reading_done(core))
                        watch_exit(*slot);
                    if (slot->exited)
                        ready.push_back(slot);
                }
                break;
            default: // kIn
                if (core.in.valid() && !feed_in(core)) {
                    unwatch_fd(core.in.get());
                    end_input(core);
                }
                break;
            }
        }

        // Children whose exit cannot be watched: look, and back off while none moves.
        if (!pending_exit_.empty()) {
            bool moved = false;
            for (std::size_t i = 0; i < pending_exit_.size();) {
                Slot *slot = pending_exit_[i];
                if (slot->core->child.has_exited()) {
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

    // Takes every running future out (their watches stop here).
    std::vector<std::unique_ptr<Slot>> take_all() noexcept
    {
        for (auto &slot : slots_) {
            unwatch_fd(slot->core->out.get());
            unwatch_fd(slot->core->err.get());
            unwatch_fd(slot->core->in.get());
            unwatch_fd(slot->core->child.pidfd());
        }
        pending_exit_.clear();
        return std::move(slots_);
    }

  private:
    static std::uint64_t tag(Slot *slot, Stream stream) noexcept
    {
        return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(slot) | stream);
    }

    bool watch_fd(int fd, std::uint64_t data, std::uint32_t events = EPOLLIN) noexcept
    {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = data;
        return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
    }

    void unwatch_fd(int fd) noexcept
    {
        if (fd >= 0)
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }

    // Reading has ended: the pipes are gone (closed before anything waits
    // for the child, which may be blocked writing), and the child's exit is
    // watched instead, in their place.
    void watch_exit(Slot &slot) noexcept
    {
        FutureCore &core = *slot.core;
        if (core.child.has_exited()) {
            slot.exited = true;
        } else if (!core.child.ensure_pidfd() || !watch_fd(core.child.pidfd(), tag(&slot, kPid))) {
            pending_exit_.push_back(&slot); // reserved in step()
            backoff_ms_ = kFirstBackoffMs;
        }
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

// The iterators' cores. A forked child drops the parent's.
TokenTable<IteratorCore> g_iterators(TokenKind::Iterator);

void drop_in_child() noexcept
{
    g_iterators.drop_in_child();
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

IteratorCore *lookup(const ProcReact_FutureIterator *iterator) noexcept
{
    return g_iterators.find(iterator->futures);
}

// The iterator's core, made on first use. Throws std::bad_alloc.
IteratorCore *lookup_or_create(ProcReact_FutureIterator *iterator)
{
    if (IteratorCore *core = lookup(iterator))
        return core;
    auto core = std::make_unique<IteratorCore>();
    IteratorCore *raw = core.get();
    iterator->futures = static_cast<ProcReact_Future *>(g_iterators.insert(core));
    return raw;
}

// Hands a finished future to `complete`, its exit details available to
// procreact_future_info() meanwhile.
void deliver(ProcReact_FutureIterator *iterator, ProcReact_Future *future, ProcReact_Status status,
             Details *details) noexcept
{
    CompletionScope scope(future, details);
    if (iterator->complete != nullptr)
        iterator->complete(iterator->data, future, status);
    else
        free_builtin_result(future->type, future->result);
}

// The same for a future that never ran in the iterator (failed, stale,
// already finished): only a spawn failure's errno is known.
void deliver(ProcReact_FutureIterator *iterator, ProcReact_Future *future, ProcReact_Status status) noexcept
{
    Details details;
    details.exec_errno = spawn_failed_errno(future->state);
    deliver(iterator, future, status, &details);
}

// Completes a future without the iterator's machinery (when it could not
// take the future over): blocks for this one child, loses nothing.
void complete_synchronously(ProcReact_FutureIterator *iterator, ProcReact_Future future,
                            std::unique_ptr<FutureCore> core) noexcept
{
    read_all(*core);
    ProcReact_Status status;
    Details details;
    finish(future, std::move(core), &status, &details);
    deliver(iterator, &future, status, &details);
}

void sync_count(ProcReact_FutureIterator *iterator) noexcept
{
    IteratorCore *core = lookup(iterator);
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
    if (std::unique_ptr<IteratorCore> core = g_iterators.take(iterator->futures))
        core->take_all(); // each slot's core kills and reaps its child as it goes
    iterator->futures = nullptr;
    iterator->running_processes = 0;
}

ProcReact_bool procreact_spawn_next_future(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr || iterator->has_next == nullptr || iterator->next == nullptr)
        return 0;
    reap_leftovers();
    if (!iterator->has_next(iterator->data))
        return 0;

    ProcReact_Future future = iterator->next(iterator->data);
    std::unique_ptr<FutureCore> core;
    ProcReact_Status status = PROCREACT_STATUS_OK;
    switch (claim(future, core)) {
    case Identity::Finished:
        // Already completed by the client (for instance with procreact_future_get()).
        finished_status(future, &status);
        deliver(iterator, &future, status);
        return 1;
    case Identity::Failed:
        future.result = nullptr;
        deliver(iterator, &future, PROCREACT_STATUS_FORK_FAIL);
        return 1;
    case Identity::Stale:
        future.result = nullptr;
        deliver(iterator, &future, PROCREACT_STATUS_WAIT_FAIL);
        return 1;
    case Identity::HandBuilt:
        // As 0.1 does: the iterator makes the type's reading state.
        core = adopt_hand_built(future);
        if (!core) {
            future.result = nullptr;
            deliver(iterator, &future, PROCREACT_STATUS_OUT_OF_MEMORY);
            return 1;
        }
        future.state = nullptr;
        break;
    case Identity::Live:
        break;
    }
    const bool taken = guard(false, [&] { return lookup_or_create(iterator)->add(future, core); });
    if (!taken)
        complete_synchronously(iterator, future, std::move(core));
    sync_count(iterator);
    return 1;
}

unsigned int procreact_buffer(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return 0;
    IteratorCore *core = lookup(iterator);
    if (core == nullptr || core->running() == 0) {
        iterator->running_processes = 0;
        return 0;
    }
    std::vector<std::unique_ptr<Slot>> done;
    ProcReact_Status failure = PROCREACT_STATUS_OK;
    try {
        core->step(done);
    } catch (const RunFailure &f) {
        failure = f.status;
    } catch (...) {
        failure = PROCREACT_STATUS_OUT_OF_MEMORY;
    }
    if (failure != PROCREACT_STATUS_OK) {
        // Waiting itself fails: retrying would spin. Every running future
        // ends here, its child killed and reaped, and is reported.
        for (auto &slot : core->take_all()) {
            slot->core.reset();
            slot->future.result = nullptr;
            mark_finished(slot->future, failure);
            try {
                done.push_back(std::move(slot));
            } catch (...) {
                deliver(iterator, &slot->future, failure);
            }
        }
    }
    sync_count(iterator);
    // Callbacks last: they may spawn more futures into this iterator, or destroy it.
    for (auto &slot : done) {
        ProcReact_Status status = failure;
        Details details;
        if (slot->core)
            finish(slot->future, std::move(slot->core), &status, &details);
        deliver(iterator, &slot->future, status, &details);
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
