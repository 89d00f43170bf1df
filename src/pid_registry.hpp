// SPDX-License-Identifier: MIT
//
// Which children belong to which pid iterator.
//
// ProcReact_PidIterator has no field for the library, so the pids that an
// iterator's `next` returned are kept in a process-wide table keyed by the
// iterator's *value* (its callbacks and `data`), which a copy of the struct
// keeps, never by its address. Each entry watches its running children
// through pidfds in an epoll instance of its own, as long as the library's
// share of descriptors allows (see ChildWatch::Pidfd::Budgeted), and by pid
// otherwise. A child's pidfd is closed as soon as it is seen to have exited
// (a zombie keeps its pid), so an iterator that nobody calls again holds no
// descriptor once its children are done. Guarded by the global lock; dropped
// in a forked child, whose parent's children are not its own.
#pragma once

#include <vector>

#include "procreact_pid_iterator.h"
#include "process.hpp"

namespace procreact {

/// A child taken out of the table once it exited, with what the stop
/// sequence says of it.
struct ExitedChild {
    ChildWatch watch;
    unsigned flags = 0;    ///< PROCREACT_EXIT_* of the stop sequence
    long long start_ns = 0; ///< when it was tracked (0: not known)
};

/// Starts tracking @p watch for @p iterator. Throws std::bad_alloc.
void registry_add(const ProcReact_PidIterator *iterator, ChildWatch &&watch);

/// The number of children tracked for @p iterator.
std::size_t registry_count(const ProcReact_PidIterator *iterator) noexcept;

/// Hands the children of a stale entry (the iterator says it runs none, so
/// an earlier iterator of the same value was abandoned) to the reaper, and
/// now and then releases the descriptors of other entries' exited children.
void registry_tidy(const ProcReact_PidIterator *iterator) noexcept;

/// Takes out of @p iterator's entry its children that have exited. With
/// @p block, first sleeps until at least one has (and then takes just one).
/// Without it, the call costs no system call when the SIGCHLD handler is
/// installed and reported nothing since the last look (0.1 clients call it
/// in a busy loop). Throws std::bad_alloc.
std::vector<ExitedChild> registry_take_exited(const ProcReact_PidIterator *iterator, bool block);

/// Takes every child of @p iterator out of the table. With @p forget, the
/// entry's settings go too (procreact_destroy_pid_iterator()).
std::vector<ChildWatch> registry_take_all(const ProcReact_PidIterator *iterator, bool forget = false) noexcept;

enum class ControlOp { Fd, Timeout, Stop, Cancel };

/// Time and control for @p iterator's entry (made and pinned if need be):
/// returns the descriptor for Fd, else 0; -1 with errno ENOMEM.
int registry_control(const ProcReact_PidIterator *iterator, ControlOp op, long long ns = 0, int signo = 0) noexcept;

/// Whether @p iterator was cancelled.
bool registry_cancelled(const ProcReact_PidIterator *iterator) noexcept;

} // namespace procreact
