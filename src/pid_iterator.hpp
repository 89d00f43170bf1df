// SPDX-License-Identifier: MIT
//
// Completion steps shared by the pid iterator and the main-loop step.
#pragma once

#include "procreact_pid_iterator.h"
#include "process.hpp"

namespace procreact {

/// Reaps @p watch's child (it has exited) and calls the iterator's retrieve and complete.
void complete_child(ProcReact_PidIterator *iterator, ChildWatch &watch) noexcept;

/// Completes this iterator's exited children: with @p block, sleeps until
/// one has exited and completes it; without, completes all that have.
void complete_exited(ProcReact_PidIterator *iterator, bool block) noexcept;

} // namespace procreact
