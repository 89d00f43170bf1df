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
#include <csignal>
#include <map>
#include <unordered_map>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <vector>

#include <sys/epoll.h>

#include "boundary.hpp"
#include "control.hpp"
#include "procreact_control.h"
#include "future_core.hpp"
#include "handle.hpp"
#include "process.hpp"
#include "run_limited.hpp"
#include "types.hpp"

namespace procreact
{
namespace
{

struct Slot;
using Timers = std::multimap<long long, Slot *>;

struct Slot {
    ProcReact_Future future{}; // the copy handed to `complete`
    std::unique_ptr<FutureCore> core;
    std::size_t index = 0;
    bool exited = false;
    bool queued = false;       // listed to complete in this step
    long long timer_due = 0;   // its key in the timers (0: none)
    Timers::iterator timer_it; // valid while timer_due != 0
};

// Tags in epoll_event.data: the slot pointer, its low bits saying which of
// the slot's descriptors it is. The iterator's own timer and waker carry a
// null slot.
enum Stream : std::uintptr_t { kOut = 0, kPid = 1, kErr = 2, kIn = 3 };
constexpr std::uintptr_t kStreamMask = 3;
constexpr std::uint64_t kTimerTag = kOut; // null slot
constexpr std::uint64_t kWakerTag = kPid; // null slot

// Back-off while a child's exit can only be polled for (no pidfd).
constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 50;

/// Why a run had to stop: the status every running future completes with.
struct RunFailure {
    ProcReact_Status status;
};

/// The stop sequence that futures without their own get.
struct Defaults {
    long long timeout_ns = -1; // -1: none
    bool stop_set = false;
    int signo = SIGTERM;
    long long grace_ns = kDefaultGraceNs;
};

class IteratorCore
{
  public:
    IteratorCore() : epoll_(move_above_stdio(::epoll_create1(EPOLL_CLOEXEC))), timer_(make_timer())
    {
        if (!epoll_ || !timer_ || !waker_.valid() || !watch_fd(timer_.get(), kTimerTag) ||
            !watch_fd(waker_.fd(), kWakerTag))
            throw std::bad_alloc();
    }

    ~IteratorCore() { take_all(); }

    std::size_t running() const noexcept { return slots_.size(); }
    int fd() const noexcept { return epoll_.get(); }
    Waker *waker() noexcept { return &waker_; }
    Defaults &defaults() noexcept { return defaults_; }
    bool cancelled() const noexcept { return waker_.all_requested(); }

    // Takes over @p core's running future. Returns false (leaving @p core
    // untouched) when it cannot be watched; throws std::bad_alloc likewise.
    bool add(const ProcReact_Future &future, std::unique_ptr<FutureCore> &core)
    {
        auto slot = std::make_unique<Slot>();
        slots_.reserve(slots_.size() + 1);
        pending_exit_.reserve(slots_.size() + 1);
        if (core->serial != 0)
            by_serial_.reserve(by_serial_.size() + 1);
        Slot *raw = slot.get();
        if (core->out && !watch_fd(core->out.get(), tag(raw, kOut), EPOLLIN))
            return false;
        if ((core->err && !watch_fd(core->err.get(), tag(raw, kErr), EPOLLIN)) ||
            (core->in.valid() && !watch_fd(core->in.get(), tag(raw, kIn), EPOLLOUT))) {
            unwatch_fd(core->out.get());
            unwatch_fd(core->err.get());
            return false;
        }
        // Nothing below throws.
        slot->future = future;
        slot->core = std::move(core);
        slot->index = slots_.size();
        slots_.push_back(std::move(slot));
        FutureCore &fc = *raw->core;
        const long long now = monotonic_ns();
        if (!fc.plan.own_deadline && defaults_.timeout_ns >= 0)
            fc.plan.deadline_ns = now + std::max(defaults_.timeout_ns, 1LL);
        if (!fc.plan.own_stop && defaults_.stop_set) {
            fc.plan.signo = defaults_.signo;
            fc.plan.grace_ns = defaults_.grace_ns;
        }
        if (fc.serial != 0) {
            try {
                by_serial_.emplace(fc.serial, raw);
            } catch (...) {
                // Out of memory: only the whole collection can cancel it.
            }
        }
        if (waker_.all_requested())
            begin_stop(fc, PROCREACT_EXIT_CANCELLED, now);
        schedule(*raw, now);
        // A child with no output stream to watch is watched for its exit now.
        if (reading_done(fc)) {
            watch_exit(*raw);
            if (raw->exited)
                queue_exited(raw); // completes at the next step (reserved above)
        }
        return true;
    }

    // Waits for events (with @p block; else only looks) and moves the
    // finished slots into @p done. Throws RunFailure when waiting itself
    // fails, std::bad_alloc when out of memory.
    void step(std::vector<std::unique_ptr<Slot>> &done, bool block)
    {
        epoll_event events[64];
        const int n = wait_retry(block ? -1 : 0,
                                 [&](int left) { return ::epoll_wait(epoll_.get(), events, 64, left); });
        if (n < 0)
            throw RunFailure{PROCREACT_STATUS_WAIT_FAIL};
        const long long now = monotonic_ns();
        // Reserve before any slot changes state, so nothing below can throw
        // and leave a finished slot unlisted.
        std::vector<Slot *> ready;
        ready.reserve(slots_.size());
        done.reserve(done.size() + slots_.size());
        pending_exit_.reserve(slots_.size());
        std::vector<Serial> cancels;

        for (int i = 0; i < n; ++i) {
            const auto raw = static_cast<std::uintptr_t>(events[i].data.u64);
            Slot *slot = reinterpret_cast<Slot *>(raw & ~kStreamMask);
            if (slot == nullptr) {
                if (raw == kTimerTag)
                    drain(timer_.get());
                else
                    cancels = waker_.take();
                continue;
            }
            FutureCore &core = *slot->core;
            switch (raw & kStreamMask) {
            case kPid:
                unwatch_fd(core.child.pidfd());
                slot->exited = true;
                if (reading_done(core))
                    queue(ready, slot);
                break;
            case kOut:
                if (core.out && pump(core) == Pump::End)
                    stream_ended(*slot, core.out.get(), ready, now);
                break;
            case kErr:
                if (core.err && !pump_err(core))
                    stream_ended(*slot, core.err.get(), ready, now);
                break;
            default: // kIn
                if (core.in.valid() && !feed_in(core)) {
                    unwatch_fd(core.in.get());
                    end_input(core);
                }
                break;
            }
        }

        // Cancellations: the whole collection, or single futures.
        if (waker_.all_requested() && !cancelling_all_) {
            cancelling_all_ = true;
            for (auto &slot : slots_)
                stop(*slot, PROCREACT_EXIT_CANCELLED, now);
        }
        for (Serial serial : cancels) {
            auto it = by_serial_.find(serial);
            if (it != by_serial_.end())
                stop(*it->second, PROCREACT_EXIT_CANCELLED, now);
        }

        // The stop sequences that are due.
        while (!timers_.empty() && timers_.begin()->first <= now) {
            Slot *slot = timers_.begin()->second;
            timers_.erase(timers_.begin());
            slot->timer_due = 0;
            if (advance_stop(*slot->core, now))
                abandon(*slot, ready);
            schedule(*slot, now);
        }

        // Children whose exit cannot be watched: look, and back off while none moves.
        if (!pending_exit_.empty()) {
            bool moved = false;
            for (std::size_t i = 0; i < pending_exit_.size();) {
                Slot *slot = pending_exit_[i];
                if (slot->core->child.has_exited()) {
                    slot->exited = true;
                    queue(ready, slot);
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
        rearm(now);
    }

    // Takes every running future out (their watches stop here).
    std::vector<std::unique_ptr<Slot>> take_all() noexcept
    {
        for (auto &slot : slots_) {
            unwatch_fd(slot->core->out.get());
            unwatch_fd(slot->core->err.get());
            unwatch_fd(slot->core->in.get());
            unwatch_fd(slot->core->child.pidfd());
            if (slot->core->serial != 0)
                drive_unregister(slot->core->serial);
        }
        pending_exit_.clear();
        timers_.clear();
        by_serial_.clear();
        for (auto &slot : slots_)
            slot->timer_due = 0;
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

    // A slot whose child has exited already, to complete at the next step:
    // the timer fires at once, so that the step (or a main loop watching
    // the descriptor) is woken for it.
    void queue_exited(Slot *slot) noexcept
    {
        pending_exit_.push_back(slot); // reserved by the caller
        const long long now = monotonic_ns();
        if (armed_ == 0 || armed_ > now) {
            arm_timer(timer_.get(), now);
            armed_ = now;
        }
    }

    static void queue(std::vector<Slot *> &ready, Slot *slot) noexcept
    {
        if (!slot->queued) {
            slot->queued = true;
            ready.push_back(slot); // reserved in step()
        }
    }

    // The output or stderr stream @p fd of @p slot ended (or passed its limit).
    void stream_ended(Slot &slot, int fd, std::vector<Slot *> &ready, long long now) noexcept
    {
        FutureCore &core = *slot.core;
        unwatch_fd(fd);
        if (fd == core.out.get())
            procreact::end_reading(core);
        else
            core.err.reset();
        if (core.limit_hit)
            stop(slot, PROCREACT_EXIT_OUTPUT_LIMIT, now);
        if (reading_done(core))
            watch_exit(slot);
        if (slot.exited && reading_done(core))
            queue(ready, &slot);
    }

    void stop(Slot &slot, unsigned why, long long now) noexcept
    {
        begin_stop(*slot.core, why, now);
        schedule(slot, now);
    }

    // The stop sequence gave up on the pipes (held open by a process outside
    // the child's group): they close, and the exit is watched instead.
    void abandon(Slot &slot, std::vector<Slot *> &ready) noexcept
    {
        FutureCore &core = *slot.core;
        if (reading_done(core) && !core.in.valid())
            return;
        unwatch_fd(core.out.get());
        unwatch_fd(core.err.get());
        unwatch_fd(core.in.get());
        end_streams(core);
        watch_exit(slot);
        if (slot.exited)
            queue(ready, &slot);
    }

    // Lists the slot's next due time among the timers.
    void schedule(Slot &slot, long long now) noexcept
    {
        const long long due = stop_due(*slot.core);
        if (due == slot.timer_due)
            return;
        if (slot.timer_due != 0)
            timers_.erase(slot.timer_it);
        slot.timer_due = 0;
        if (due == 0)
            return;
        try {
            slot.timer_it = timers_.emplace(due, &slot);
            slot.timer_due = due;
            if (armed_ == 0 || due < armed_) {
                arm_timer(timer_.get(), due); // outside a step, too: the loop sleeps on it
                armed_ = due;
            }
        } catch (...) {
            // Out of memory: stop now rather than never.
            if (advance_stop(*slot.core, std::max(now, due)))
                slot.core->plan.deadline_ns = 0;
        }
    }

    // The timerfd fires at the earliest due time, or for the next look at
    // children whose exit can only be polled.
    void rearm(long long now) noexcept
    {
        long long due = timers_.empty() ? 0 : timers_.begin()->first;
        if (!pending_exit_.empty()) {
            const long long look = now + static_cast<long long>(backoff_ms_) * kNsPerMs;
            due = due == 0 ? look : std::min(due, look);
        }
        if (due != armed_) {
            arm_timer(timer_.get(), due);
            armed_ = due;
        }
    }

    // Reading has ended: the pipes are gone (closed before anything waits
    // for the child, which may be blocked writing), and the child's exit is
    // watched instead, in their place.
    void watch_exit(Slot &slot) noexcept
    {
        FutureCore &core = *slot.core;
        if (slot.exited)
            return;
        if (core.child.has_exited()) {
            slot.exited = true;
        } else if (!core.child.ensure_pidfd() || !watch_fd(core.child.pidfd(), tag(&slot, kPid))) {
            pending_exit_.push_back(&slot); // reserved in step()
            backoff_ms_ = kFirstBackoffMs;
            if (armed_ == 0 || armed_ > monotonic_ns() + kFirstBackoffMs * kNsPerMs) {
                armed_ = monotonic_ns() + kFirstBackoffMs * kNsPerMs;
                arm_timer(timer_.get(), armed_);
            }
        }
    }

    std::unique_ptr<Slot> remove(Slot *slot) noexcept
    {
        if (slot->timer_due != 0)
            timers_.erase(slot->timer_it);
        slot->timer_due = 0;
        if (slot->core->serial != 0) {
            by_serial_.erase(slot->core->serial);
            drive_unregister(slot->core->serial);
        }
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
    UniqueFd timer_;
    Waker waker_;
    long long armed_ = 0;
    bool cancelling_all_ = false;
    Defaults defaults_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<Slot *> pending_exit_;
    Timers timers_;
    std::unordered_map<Serial, Slot *> by_serial_;
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

void take_over(ProcReact_FutureIterator *iterator, ProcReact_Future future) noexcept;

unsigned int buffer(ProcReact_FutureIterator *iterator, bool block) noexcept
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
        core->step(done, block);
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

// The iterator's core for a setting or the descriptor, made if need be.
IteratorCore *core_for_control(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    errno = 0;
    IteratorCore *core = guard(static_cast<IteratorCore *>(nullptr), [&] { return lookup_or_create(iterator); });
    if (core == nullptr && errno == 0)
        errno = ENOMEM;
    return core;
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
    IteratorCore *icore = lookup(iterator);
    if (icore != nullptr && icore->cancelled())
        return 0; // cancelled: nothing more is spawned
    if (!iterator->has_next(iterator->data))
        return 0;

    ProcReact_Future future = iterator->next(iterator->data);
    take_over(iterator, future);
    return 1;
}

int procreact_future_iterator_add(ProcReact_FutureIterator *iterator, ProcReact_Future *future) noexcept
{
    if (iterator == nullptr || future == nullptr) {
        errno = EINVAL;
        return -1;
    }
    reap_leftovers();
    take_over(iterator, *future);
    // The caller's struct is spent: the iterator owns the future now.
    future->fd = -1;
    future->state = nullptr;
    future->result = nullptr;
    return 0;
}

} // extern "C"

namespace procreact
{
namespace
{

// Takes @p future over into the iterator (as if `next` returned it), or
// completes it at once when it is not running or cannot be watched.
void take_over(ProcReact_FutureIterator *iterator, ProcReact_Future future) noexcept
{
    // The core (made now if need be) drives the future: a cancellation from
    // another thread reaches it through its waker from the moment it is
    // claimed. `next` may have destroyed or cancelled the iterator.
    IteratorCore *icore = lookup(iterator);
    if (icore == nullptr)
        icore = guard(static_cast<IteratorCore *>(nullptr), [&] { return lookup_or_create(iterator); });
    std::unique_ptr<FutureCore> core;
    ProcReact_Status status = PROCREACT_STATUS_OK;
    switch (claim(future, core, icore != nullptr ? icore->waker() : nullptr)) {
    case Identity::Finished:
        // Already completed by the client (for instance with procreact_future_get()).
        finished_status(future, &status);
        deliver(iterator, &future, status);
        return;
    case Identity::Failed:
        future.result = nullptr;
        deliver(iterator, &future, PROCREACT_STATUS_FORK_FAIL);
        return;
    case Identity::Stale:
        future.result = nullptr;
        deliver(iterator, &future, PROCREACT_STATUS_WAIT_FAIL);
        return;
    case Identity::HandBuilt:
        // As 0.1 does: the iterator makes the type's reading state.
        core = adopt_hand_built(future);
        if (!core) {
            future.result = nullptr;
            deliver(iterator, &future, PROCREACT_STATUS_OUT_OF_MEMORY);
            return;
        }
        future.state = nullptr;
        break;
    case Identity::Live:
        break;
    }
    const bool taken = icore != nullptr && guard(false, [&] { return icore->add(future, core); });
    if (!taken) {
        if (core->serial != 0)
            drive_unregister(core->serial);
        complete_synchronously(iterator, future, std::move(core));
    }
    sync_count(iterator);
}

} // namespace
} // namespace procreact

extern "C" {

unsigned int procreact_buffer(ProcReact_FutureIterator *iterator) noexcept
{
    return buffer(iterator, true);
}

int procreact_future_iterator_step(ProcReact_FutureIterator *iterator, unsigned int limit) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    refill(iterator, limit, procreact_spawn_next_future);
    buffer(iterator, false);
    refill(iterator, limit, procreact_spawn_next_future);
    return iterator->running_processes > 0 ? 1 : 0;
}

int procreact_future_iterator_fd(ProcReact_FutureIterator *iterator) noexcept
{
    IteratorCore *core = core_for_control(iterator);
    return core != nullptr ? core->fd() : -1;
}

int procreact_future_iterator_cancel(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    {
        // From another thread: the core cannot go away while the lock is held.
        GlobalLock lock;
        if (IteratorCore *core = g_iterators.find_locked(iterator->futures)) {
            core->waker()->post_all();
            return 0;
        }
    }
    // Not started yet: made now, and cancelled before anything runs.
    IteratorCore *core = core_for_control(iterator);
    if (core == nullptr)
        return -1;
    GlobalLock lock;
    core->waker()->post_all();
    return 0;
}

int procreact_future_iterator_set_timeout(ProcReact_FutureIterator *iterator, double seconds) noexcept
{
    long long ns;
    if (!seconds_to_ns(seconds, &ns)) {
        errno = EINVAL;
        return -1;
    }
    IteratorCore *core = core_for_control(iterator);
    if (core == nullptr)
        return -1;
    core->defaults().timeout_ns = ns;
    return 0;
}

int procreact_future_iterator_set_stop(ProcReact_FutureIterator *iterator, int signo, double grace_seconds) noexcept
{
    long long ns;
    if (signo < 0 || signo > 64 || !seconds_to_ns(grace_seconds, &ns) || ns < 0) {
        errno = EINVAL;
        return -1;
    }
    IteratorCore *core = core_for_control(iterator);
    if (core == nullptr)
        return -1;
    Defaults &d = core->defaults();
    d.stop_set = true;
    d.signo = signo;
    d.grace_ns = ns;
    return 0;
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
