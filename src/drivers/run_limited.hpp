// SPDX-License-Identifier: MIT
//
// The loop that both iterator kinds share: keep up to `limit` children
// running, step until none runs and none is left.
#pragma once

namespace procreact
{

/// Spawns with @p spawn while fewer than @p limit run (0: no limit) and the
/// collection has more, then calls @p step (which sleeps until something
/// finishes), until nothing runs and the collection has nothing more. The
/// collection is asked again every round: a completion callback may add work.
template <typename Iterator, typename Spawn, typename Step>
void run_limited(Iterator *iterator, unsigned int limit, Spawn spawn, Step step) noexcept
{
    if (iterator == nullptr)
        return;
    for (;;) {
        bool more = true;
        while (more && (limit == 0 || iterator->running_processes < limit))
            more = spawn(iterator) != 0;
        if (!more && iterator->running_processes == 0)
            break;
        step(iterator);
    }
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
