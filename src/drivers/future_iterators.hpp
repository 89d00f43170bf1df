// SPDX-License-Identifier: MIT
//
// Future iterators: a collection per iterator, found through the sealed
// token in the iterator's `futures` field (which clients never touch), so
// copies of the iterator struct share one collection and a stale or
// hand-filled struct never leads the library into memory it did not make.
#pragma once

#include "../engine/collection.hpp"
#include "spawn_member.hpp"
#include "procreact_channel.h"
#include "procreact_future_iterator.h"

namespace procreact
{

/// The iterator's collection, or null.
Collection *find_collection(const ProcReact_FutureIterator *iterator) noexcept;

/// The iterator's collection, made on first use; null with errno set.
Collection *collection_for(ProcReact_FutureIterator *iterator) noexcept;

/// Sets where the channel events of the iterator's futures go. -1 with errno set.
int set_channel_callback(ProcReact_FutureIterator *iterator, ProcReact_ChannelCallback callback, void *data) noexcept;

/// Forgets the iterator's collection; its children are killed and reaped.
void destroy_collection(ProcReact_FutureIterator *iterator) noexcept;

/// Cancels the iterator's collection (from any thread). -1 with errno set.
int cancel_collection(ProcReact_FutureIterator *iterator) noexcept;

/// How the iterator whose `next` runs on this thread now waits for exits
/// (ExitWait::Unknown outside any `next`): what procreact_command_spawn()
/// called from there tells the launcher.
ExitWait filling_exit_wait() noexcept;

/// Asks `has_next` and takes what `next` returns over. Returns whether
/// `has_next` said yes.
bool spawn_next(ProcReact_FutureIterator *iterator) noexcept;

/// Takes @p future over into the iterator (as if `next` returned it), or
/// completes it at once when it is not running or cannot be watched.
void take_over(ProcReact_FutureIterator *iterator, ProcReact_Future future) noexcept;

/// A step: with @p block, sleeps until something happens. Completes the
/// futures that are done; returns how many still run.
unsigned int buffer(ProcReact_FutureIterator *iterator, bool block) noexcept;

} // namespace procreact
