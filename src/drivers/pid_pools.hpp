// SPDX-License-Identifier: MIT
//
// Pid iterators' pools: which children belong to which pid iterator.
//
// ProcReact_PidIterator has no field for the library. Two ways of driving it
// keep two kinds of ownership:
//  - a library run (procreact_fork_in_parallel_and_wait() and its limited
//    twin) keeps the children it spawns in a collection of its own, on its
//    stack: no other iterator, twin or nested run ever sees them;
//  - children spawned by hand (procreact_spawn_next_pid()) go to the pool of
//    the iterator's *value* (its callbacks and `data`), which a copy of the
//    struct keeps. Each struct counts its own children in
//    `running_processes` (spawn adds one, a completion takes one), and a
//    struct collects from the pool only while its count says it has
//    children: a twin that has spawned none takes none.
// A pool's slot in the table also holds its settings (deadline, stop
// sequence), its cancellation and the wakers of the runs of that value, so
// that another thread reaches them while the pool itself is lent out to the
// thread that waits on it (see PoolLease): under the table lock only table
// edits, the waiting and reaping with the pool lent out.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "../engine/collection.hpp"
#include "procreact_pid_iterator.h"

namespace procreact
{

/// The children of one iterator value spawned by hand.
struct Pool {
    std::unique_ptr<Collection> running;      ///< made on first use
    std::deque<std::unique_ptr<Member>> done; ///< exited, not yet completed (no pidfd)

    /// Moves up to @p most exited members into @p out, oldest first.
    void take_done(MemberList &out, std::size_t most) noexcept;
};

/// What a slot keeps outside its pool (reachable while the pool is lent).
struct PoolSettings {
    bool pinned = false; ///< has settings or a descriptor: lasts until destroyed
    bool cancelled = false;
    StopDefaults defaults;
};

/// Moves the done members of a non-blocking (or, with @p block, blocking)
/// step of @p pool's collection into its queue. When waiting itself fails,
/// every running member moves to @p failed and the status says why.
ProcReact_Status collect_exited(Pool &pool, bool block, MemberList &failed) noexcept;

/// Lends the pool of @p iterator's value to this thread for as long as it
/// lives (another thread asking for it waits). With @p create, a missing
/// pool is made.
class PoolLease
{
  public:
    /// Without @p wait, a pool lent to another thread is not waited for
    /// (get() is null then).
    PoolLease(const ProcReact_PidIterator *iterator, bool create, bool wait = true) noexcept;
    ~PoolLease();
    PoolLease(const PoolLease &) = delete;
    PoolLease &operator=(const PoolLease &) = delete;

    /// The pool, or null (none, or out of memory).
    Pool *get() noexcept { return pool_.get(); }
    /// Whether the pool has no child at all.
    bool empty() const noexcept;
    /// Its collection, made now if need be (null when out of memory),
    /// with the slot's current settings applied.
    Collection *running() noexcept;
    /// The slot's settings as they were when the lease began.
    const PoolSettings &settings() const noexcept { return settings_; }

    struct Key; ///< an iterator's value (defined in pid_pools.cpp)

  private:
    std::unique_ptr<Key> key_;
    std::unique_ptr<Pool> pool_;
    PoolSettings settings_;
};

/// Edits @p iterator's slot (made and pinned if need be) under the table
/// lock: @p edit must not make system calls. Returns false (errno ENOMEM).
bool edit_settings(const ProcReact_PidIterator *iterator, void (*edit)(PoolSettings &, void *), void *arg) noexcept;

/// The slot's settings (defaults when there is none).
PoolSettings read_settings(const ProcReact_PidIterator *iterator) noexcept;

/// Cancels every child of @p iterator's value: its pool and its runs.
int cancel_value(const ProcReact_PidIterator *iterator) noexcept;

/// Registers / forgets the waker of a library run of @p iterator's value.
bool register_run(const ProcReact_PidIterator *iterator, const WakerRef &waker) noexcept;
void unregister_run(const ProcReact_PidIterator *iterator, const WakerRef &waker) noexcept;

/// Removes @p iterator's slot; its pool's children are killed and reaped.
void destroy_pool(const ProcReact_PidIterator *iterator) noexcept;

/// Whether the SIGCHLD counter says nothing ended since the pool was last
/// looked at (0.1's cheap main-loop step), without lending it.
bool pool_quiet(const ProcReact_PidIterator *iterator) noexcept;
/// Records that the pool was looked at now.
void pool_looked(const ProcReact_PidIterator *iterator) noexcept;

/// Now and then: other pools that nobody collects give back the pidfds of
/// their exited children (an abandoned iterator must not hold descriptors).
void sweep_pools(const ProcReact_PidIterator *self) noexcept;

} // namespace procreact
