// SPDX-License-Identifier: MIT
//
// Driving pid iterators on the engine: library runs with collections of
// their own, and the calls of a client that drives the iterator by hand
// (see pid_pools.hpp for who owns which child).
#pragma once

#include "procreact_pid_iterator.h"

namespace procreact
{

/// procreact_fork_and_wait_in_parallel_limit() (@p limit 0: no limit).
void run_pids(ProcReact_PidIterator *iterator, unsigned int limit) noexcept;

/// procreact_spawn_next_pid().
bool spawn_by_hand(ProcReact_PidIterator *iterator) noexcept;

/// procreact_wait_for_process_to_complete().
bool wait_by_hand(ProcReact_PidIterator *iterator) noexcept;

/// Completes the iterator's children that have exited, without blocking
/// (procreact_complete_all_finished_processes(), and the step).
void complete_finished_by_hand(ProcReact_PidIterator *iterator) noexcept;

/// procreact_pid_iterator_fd().
int pool_fd(ProcReact_PidIterator *iterator) noexcept;

} // namespace procreact
