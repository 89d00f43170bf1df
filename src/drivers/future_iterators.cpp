// SPDX-License-Identifier: MIT
//
// Future iterators on the engine: take-over, steps and delivery.
#include "future_iterators.hpp"

#include <cerrno>
#include <memory>
#include <vector>

#include "../engine/boundary.hpp"
#include "../os/threads.hpp"
#include "../types.hpp"
#include "channel_events.hpp"
#include "future_finish.hpp"
#include "future_table.hpp"

namespace procreact
{
namespace
{

// The iterators' collections. A forked child drops the parent's.
TokenTable<Collection> g_iterators(TokenKind::Iterator);

// The exit wait of the iterator whose `next` runs on this thread.
thread_local ExitWait t_filling = ExitWait::Unknown;

void drop_in_child() noexcept
{
    g_iterators.drop_in_child();
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
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

void sync_count(ProcReact_FutureIterator *iterator) noexcept
{
    Collection *c = find_collection(iterator);
    iterator->running_processes = c != nullptr ? static_cast<unsigned int>(c->size()) : 0;
}

// Finishes a member that could not be driven (the collection cannot watch
// it): its streams close and its child is waited for, and it is delivered.
void complete_unwatched(ProcReact_FutureIterator *iterator, std::unique_ptr<Member> m) noexcept
{
    if (m->serial != 0)
        drive_unregister(m->serial);
    ProcReact_Future future = m->future;
    ProcReact_Status status;
    Details details;
    finish(future, std::move(m), &status, &details);
    deliver(iterator, &future, status, &details);
}

} // namespace

Collection *find_collection(const ProcReact_FutureIterator *iterator) noexcept
{
    return g_iterators.find(iterator->futures);
}

Collection *collection_for(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    if (Collection *c = find_collection(iterator))
        return c;
    errno = 0;
    Collection *made = guard(static_cast<Collection *>(nullptr), [&] {
        auto c = std::make_unique<Collection>(true); // its eventfd once a second thread exists
        Collection *raw = c.get();
        iterator->futures = static_cast<ProcReact_Future *>(g_iterators.insert(c));
        return raw;
    });
    if (made == nullptr && errno == 0)
        errno = ENOMEM;
    return made;
}

int set_channel_callback(ProcReact_FutureIterator *iterator, ProcReact_ChannelCallback callback, void *data) noexcept
{
    Collection *c = collection_for(iterator);
    if (c == nullptr)
        return -1;
    c->set_channel_callback(callback, data);
    return 0;
}

void destroy_collection(ProcReact_FutureIterator *iterator) noexcept
{
    std::unique_ptr<Collection> c = g_iterators.take(iterator->futures);
    c.reset(); // each member kills and reaps its child as it goes
    iterator->futures = nullptr;
    iterator->running_processes = 0;
}

int cancel_collection(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    WakerRef waker;
    {
        // From another thread: the collection cannot go away while the lock is held.
        GlobalLock lock;
        if (Collection *c = g_iterators.find_locked(iterator->futures))
            waker = c->waker();
    }
    if (!waker) {
        // Not started yet: made now, and cancelled before anything runs.
        Collection *c = collection_for(iterator);
        if (c == nullptr)
            return -1;
        waker = c->waker();
    }
    waker->post_all();
    waker->ring();
    return 0;
}

bool spawn_next(ProcReact_FutureIterator *iterator) noexcept
{
    if (iterator == nullptr || iterator->has_next == nullptr || iterator->next == nullptr)
        return false;
    reap_leftovers();
    Collection *c = find_collection(iterator);
    if (c != nullptr && c->cancelled())
        return false; // cancelled: nothing more is spawned
    if (!iterator->has_next(iterator->data))
        return false;
    // A collection is made lazily, and so waits by pid while it can (one
    // thread in the process).
    const bool descriptors = c != nullptr ? c->wants_pidfds() : !single_threaded();
    const ExitWait outer = t_filling;
    t_filling = descriptors                            ? ExitWait::Descriptors
                : c != nullptr && c->exits_by_ring() ? ExitWait::Ring
                                                     : ExitWait::ByPid;
    ProcReact_Future future = iterator->next(iterator->data);
    t_filling = outer;
    take_over(iterator, future);
    return true;
}

ExitWait filling_exit_wait() noexcept
{
    return t_filling;
}

void take_over(ProcReact_FutureIterator *iterator, ProcReact_Future future) noexcept
{
    // The collection (made now if need be) drives the future: a cancellation
    // from another thread reaches it from the moment it is claimed. `next`
    // may have destroyed or cancelled the iterator.
    Collection *c = collection_for(iterator);
    std::unique_ptr<Member> m;
    ProcReact_Status status = PROCREACT_STATUS_OK;
    switch (claim(future, m, c != nullptr ? &c->waker() : nullptr)) {
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
        m = adopt_hand_built(future);
        if (!m) {
            future.result = nullptr;
            deliver(iterator, &future, PROCREACT_STATUS_OUT_OF_MEMORY);
            return;
        }
        future.state = nullptr;
        m->future = future;
        break;
    case Identity::Live:
        break;
    }
    if (c != nullptr && guard(false, [&] { return c->add(m); })) {
        // No callback ran since the collection was found: it is still the
        // iterator's (no second look in the table).
        iterator->running_processes = static_cast<unsigned int>(c->size());
        return;
    }
    complete_unwatched(iterator, std::move(m)); // `complete` may destroy the iterator
    sync_count(iterator);
}

unsigned int buffer(ProcReact_FutureIterator *iterator, bool block) noexcept
{
    if (iterator == nullptr)
        return 0;
    Collection *c = find_collection(iterator);
    if (c == nullptr || c->size() == 0) {
        iterator->running_processes = 0;
        return 0;
    }
    MemberList done, failed;
    const ProcReact_Status failure = c->step_or_fail(done, failed, block);
    std::vector<ChannelDelivery> ready;
    take_channel_events(*c, ready);
    for (auto &m : done) // their channels' last events, before their completion
        if (m->chan && m->chan->has_event())
            guard_void([&] { ready.push_back({m->future, m->chan}); });
    const ProcReact_ChannelCallback on_channel = c->channel_callback();
    void *on_channel_data = c->channel_callback_data();
    iterator->running_processes = static_cast<unsigned int>(c->size()); // found above, no callback since
    // Callbacks last: they may spawn more futures into this iterator, or destroy it.
    deliver_channel_events(ready, on_channel, on_channel_data);
    for (auto &m : done) {
        ProcReact_Future future = m->future;
        ProcReact_Status status;
        Details details;
        finish(future, std::move(m), &status, &details);
        deliver(iterator, &future, status, &details);
    }
    for (auto &m : failed) {
        // Every running future ends here, its child killed and reaped, and is reported.
        ProcReact_Future future = m->future;
        m.reset();
        future.result = nullptr;
        mark_finished(future, failure);
        deliver(iterator, &future, failure);
    }
    return iterator->running_processes;
}

} // namespace procreact
