// SPDX-License-Identifier: MIT
//
// Completion steps shared by the pid iterator and the main-loop step.
#pragma once

#include "procreact_pid_iterator.h"
#include "process.hpp"

namespace procreact {

/// Reaps @p watch's child (it has exited) and calls the iterator's retrieve
/// and complete; @p flags and @p start_ns are what procreact_pid_info() says.
void complete_child(ProcReact_PidIterator *iterator, ChildWatch &watch, unsigned flags = 0,
                    long long start_ns = 0) noexcept;

/// Completes this iterator's exited children: with @p block, sleeps until
/// one has exited and completes it; without, completes all that have.
void complete_exited(ProcReact_PidIterator *iterator, bool block) noexcept;

} // namespace procreact
