// SPDX-License-Identifier: MIT
//
// The loop that both iterator kinds share: keep up to `limit` children
// running, step until none runs and none is left.
#pragma once

namespace procreact
{

/// run_limited() with the filling done by @p fill(iterator, limit), which
/// returns false once the collection has nothing more (a fill from several
/// threads: drivers/spawn_threads.hpp).
template <typename Iterator, typename Fill, typename Step>
void run_limited_filled(Iterator *iterator, unsigned int limit, Fill fill, Step step) noexcept
{
    if (iterator == nullptr)
        return;
    for (;;) {
        const bool more = fill(iterator, limit);
        if (!more && iterator->running_processes == 0)
            break;
        step(iterator);
    }
}

/// Spawns with @p spawn while fewer than @p limit run (0: no limit) and the
/// collection has more, then calls @p step (which sleeps until something
/// finishes), until nothing runs and the collection has nothing more. The
/// collection is asked again every round: a completion callback may add work.
template <typename Iterator, typename Spawn, typename Step>
void run_limited(Iterator *iterator, unsigned int limit, Spawn spawn, Step step) noexcept
{
    run_limited_filled(
        iterator, limit,
        [spawn](Iterator *it, unsigned int lim) {
            bool more = true;
            while (more && (lim == 0 || it->running_processes < lim))
                more = spawn(it) != 0;
            return more;
        },
        step);
}

/// Spawns with @p spawn while fewer than @p limit run (0: no limit) and the
/// collection has more (the non-blocking steps' refill).
template <typename Iterator, typename Spawn> void refill(Iterator *iterator, unsigned int limit, Spawn spawn) noexcept
{
    while (limit == 0 || iterator->running_processes < limit)
        if (spawn(iterator) == 0)
            break;
}

} // namespace procreact
