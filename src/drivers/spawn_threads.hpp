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
//
// The contract, and why it is not on by default: while one thread's `next`
// waits inside its spawn, another thread may ask `has_next` and run `next`.
// So `next` must claim its job (update whatever `has_next` reads) before it
// spawns, and must not keep what it needs after the spawn in state that the
// next call overwrites. Code written for 0.1 often counts after the spawn
// (`f = spawn(); count++; return f;`): has_next would then say yes once too
// often. The library cannot tell, so the setting is the application's.
// `complete` for a future that failed or finished before its take-over may
// run on a launcher thread too; every other completion runs on the thread
// that drives the iterator, as before.
#pragma once

#include "procreact_future_iterator.h"

namespace procreact
{

/// How many threads fill a collection's slots: PROCREACT_SPAWN_THREADS (1
/// to 8), else 1 (off). Decided once.
unsigned int spawn_threads() noexcept;

/// Spawns with spawn_next() while fewer than @p limit run (0: no limit),
/// from up to spawn_threads() threads when two or more slots are free.
/// Returns false once `has_next` said no (or the collection was cancelled).
bool fill_slots(ProcReact_FutureIterator *iterator, unsigned int limit) noexcept;

} // namespace procreact
