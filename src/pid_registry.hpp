// SPDX-License-Identifier: MIT
//
// Which children belong to which pid iterator.
//
// ProcReact_PidIterator has no field for the library, so the pids that an
// iterator's `next` returned are kept in a process-wide table keyed by the
// iterator's address, each with its pidfd. An entry exists only while the
// iterator has children running. Guarded by the global lock; reset in a
// forked child, whose parent's children are not its own.
//
// An iterator abandoned with children running (its struct reused at the same
// address with running_processes back at 0) hands those children to an
// orphan list, reaped without callbacks whenever a pid iterator is used.
#pragma once

#include <vector>

#include "procreact_pid_iterator.h"
#include "process.hpp"

namespace procreact {

/// Starts tracking @p watch for @p iterator. Throws std::bad_alloc.
void registry_add(const ProcReact_PidIterator *iterator, ChildWatch &&watch);

/// The number of children tracked for @p iterator.
std::size_t registry_count(const ProcReact_PidIterator *iterator) noexcept;

/// Hands the children of a stale entry (the iterator says it runs none) to
/// the orphan list, and reaps orphans that have exited.
void registry_tidy(const ProcReact_PidIterator *iterator) noexcept;

/// Takes out of @p iterator's entry its children that have exited. With
/// @p block, first sleeps until at least one has (and then takes just one).
/// Throws std::bad_alloc.
std::vector<ChildWatch> registry_take_exited(const ProcReact_PidIterator *iterator, bool block);

/// Takes every child of @p iterator out of the table.
std::vector<ChildWatch> registry_take_all(const ProcReact_PidIterator *iterator) noexcept;

} // namespace procreact
