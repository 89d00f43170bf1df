// SPDX-License-Identifier: MIT
//
// Spawning from several threads: a future iterator's free slots filled by
// the calling thread and the library's launcher threads at once.
//
// One spawn holds its thread until the child reaches exec (CLONE_VFORK, in
// our launcher and in glibc's posix_spawn()): 40-60 us at best, so one
// thread sustains about 12,000-21,000 programs/s and binds at about 10-18
// cores for 1 ms children (bench/README). A fill from several threads runs
// `has_next`, `next` and the take-over under one mutex per fill, released
// only around the blocking spawn call itself (engine/spawn_window.hpp):
// the callbacks never run two at a time, but the threads' waits for their
// children overlap. The collection is touched only under that mutex; the
// calling thread waits for every launcher thread to leave the fill before
// it steps.
#pragma once

#include "procreact_future_iterator.h"

namespace procreact
{

/// How many threads fill a collection's slots: PROCREACT_SPAWN_THREADS (1
/// to 8; 1 switches it off), else 1 below 12 online processors (where one
/// thread keeps up) and one more per 12 above, at most 4. Decided once.
unsigned int spawn_threads() noexcept;

/// Spawns with spawn_next() while fewer than @p limit run (0: no limit),
/// from up to spawn_threads() threads when two or more slots are free.
/// Returns false once `has_next` said no (or the collection was cancelled).
bool fill_slots(ProcReact_FutureIterator *iterator, unsigned int limit) noexcept;

} // namespace procreact
