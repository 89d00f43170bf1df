// SPDX-License-Identifier: MIT
//
// Spawning from several threads: a collection's free slots filled by the
// calling thread and the library's launcher threads at once.
//
// One spawn holds its thread until the child reaches exec (CLONE_VFORK, in
// our launcher and in glibc's posix_spawn()): 40-60 us at best, so one
// thread sustains about 12,000-21,000 programs/s and binds at about 10-18
// cores for 1 ms children (bench/README). A fill from several threads runs
// the target's spawn_one() (an iterator's `has_next`, `next` and take-over;
// a batch's claim and launch) under one mutex per fill, released only
// around the blocking spawn call itself (engine/spawn_window.hpp): the
// callbacks never run two at a time, but the threads' waits for their
// children overlap. The collection is touched only under that mutex; the
// calling thread waits for every launcher thread to leave the fill before
// it steps.
//
// How many threads (spawn_threads_for()): the collection's own setting
// (procreact_*_set_spawn_threads(); 1 is off), else PROCREACT_SPAWN_THREADS,
// else the library's default, which depends on who writes the spawning
// code. A batch's jobs are claimed by the library before they are spawned,
// so batches use default_spawn_threads(). An iterator's `next` is the
// application's: while one thread's `next` waits inside its spawn, another
// thread may ask `has_next` and run `next`, so `next` must claim its job
// (update whatever `has_next` reads) before it spawns. Code written for 0.1
// often counts after the spawn (`f = spawn(); count++; return f;`): has_next
// would then say yes once too often. The library cannot tell, so iterators
// stay at one thread unless the application (or the environment) says
// otherwise. `complete` for a future that failed or finished before its
// take-over may run on a launcher thread too; every other completion runs
// on the thread that drives the iterator, as before.
//
// The launcher threads are started by the first fill that wants them (a
// process that never asks for several threads starts none), end after
// kIdleSeconds without a fill, and are woken and joined by the library's
// destructor (dlclose, exit), so none runs the library's code once it is
// unmapped. A forked child starts with none.
#pragma once

#include "procreact_future_iterator.h"

namespace procreact
{

/// The most threads a fill uses (the calling thread included).
constexpr unsigned int kMaxSpawnThreads = 8;

/// Seconds a launcher thread waits for a fill before it ends.
constexpr int kIdleSeconds = 2;

/// The library's default for collections whose spawning code is its own
/// (batches): 1 on one CPU this process may run on, else
/// max(2, min(4, CPUs / 4)). Decided once.
unsigned int default_spawn_threads() noexcept;

/// The threads a fill uses: @p setting when not 0, else
/// PROCREACT_SPAWN_THREADS (1 to 8) when set, else @p fallback.
unsigned int spawn_threads_for(unsigned int setting, unsigned int fallback) noexcept;

/// What a fill fills. Both calls run under the fill's mutex.
class FillTarget
{
  public:
    /// The target's members running now.
    virtual unsigned int running() const noexcept = 0;
    /// Starts one more (the spawn itself opens the fill's mutex); false
    /// once there is nothing more (then nothing was started).
    virtual bool spawn_one() noexcept = 0;

  protected:
    ~FillTarget() = default;
};

/// Calls @p target.spawn_one() while fewer than @p limit run (0: no limit),
/// from up to @p threads threads when two or more slots are free. Returns
/// false once spawn_one() said there is nothing more.
bool fill_target(FillTarget &target, unsigned int limit, unsigned int threads) noexcept;

/// fill_target() for a future iterator (its threads: its collection's
/// setting, else the environment's, else 1). Returns false once `has_next`
/// said no (or the collection was cancelled).
bool fill_slots(ProcReact_FutureIterator *iterator, unsigned int limit) noexcept;

} // namespace procreact
