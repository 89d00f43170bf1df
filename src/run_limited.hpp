// SPDX-License-Identifier: MIT
//
// The loop that both iterator kinds share: keep up to `limit` children
// running, step until none runs and none is left.
#pragma once

namespace procreact {

/// Spawns with @p spawn while fewer than @p limit run (0: no limit) and the
/// collection has more, then calls @p step (which sleeps until something
/// finishes and returns 0 once nothing runs), until both are exhausted.
template <typename Iterator, typename Spawn, typename Step>
void run_limited(Iterator *iterator, unsigned int limit, Spawn spawn, Step step) noexcept
{
    if (iterator == nullptr)
        return;
    bool more = true;
    for (;;) {
        while (more && (limit == 0 || iterator->running_processes < limit))
            more = spawn(iterator) != 0;
        if (step(iterator) == 0 && !more)
            break;
    }
}

} // namespace procreact
