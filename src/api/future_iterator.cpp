// SPDX-License-Identifier: MIT
//
// procreact_future_iterator.h and its part of procreact_control.h: many
// futures at once.
#include "procreact_future_iterator.h"

#include <cerrno>

#include "../drivers/future_iterators.hpp"
#include "../drivers/run_limited.hpp"
#include "../drivers/spawn_threads.hpp"
#include "procreact_control.h"

using namespace procreact;

namespace
{

unsigned int blocking_step(ProcReact_FutureIterator *iterator) noexcept
{
    return buffer(iterator, true);
}

} // namespace

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
    if (iterator != nullptr)
        destroy_collection(iterator);
}

ProcReact_bool procreact_spawn_next_future(ProcReact_FutureIterator *iterator) noexcept
{
    return spawn_next(iterator) ? 1 : 0;
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
    fill_slots(iterator, limit);
    buffer(iterator, false);
    fill_slots(iterator, limit);
    return iterator->running_processes > 0 ? 1 : 0;
}

int procreact_future_iterator_fd(ProcReact_FutureIterator *iterator) noexcept
{
    Collection *c = collection_for(iterator);
    return c != nullptr ? c->fd() : -1;
}

int procreact_future_iterator_cancel(ProcReact_FutureIterator *iterator) noexcept
{
    return cancel_collection(iterator);
}

int procreact_future_iterator_set_timeout(ProcReact_FutureIterator *iterator, double seconds) noexcept
{
    long long ns;
    if (!seconds_to_ns(seconds, &ns)) {
        errno = EINVAL;
        return -1;
    }
    Collection *c = collection_for(iterator);
    if (c == nullptr)
        return -1;
    c->defaults().timeout_ns = ns;
    return 0;
}

int procreact_future_iterator_set_stop(ProcReact_FutureIterator *iterator, int signo, double grace_seconds) noexcept
{
    long long ns;
    if (!parse_stop(signo, grace_seconds, &ns)) {
        errno = EINVAL;
        return -1;
    }
    Collection *c = collection_for(iterator);
    if (c == nullptr)
        return -1;
    StopDefaults &d = c->defaults();
    d.stop_set = true;
    d.signo = signo;
    d.grace_ns = ns;
    return 0;
}

int procreact_future_iterator_set_spawn_threads(ProcReact_FutureIterator *iterator, unsigned int threads) noexcept
{
    if (iterator == nullptr || threads > kMaxSpawnThreads) {
        errno = EINVAL;
        return -1;
    }
    Collection *c = collection_for(iterator);
    if (c == nullptr)
        return -1;
    c->set_spawn_threads(threads);
    return 0;
}

void procreact_fork_in_parallel_buffer_and_wait(ProcReact_FutureIterator *iterator) noexcept
{
    run_limited_filled(iterator, 0, fill_slots, blocking_step);
}

void procreact_fork_buffer_and_wait_in_parallel_limit(ProcReact_FutureIterator *iterator,
                                                      const unsigned int limit) noexcept
{
    run_limited_filled(iterator, limit, fill_slots, blocking_step);
}

} // extern "C"
