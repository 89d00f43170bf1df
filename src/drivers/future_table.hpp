// SPDX-License-Identifier: MIT
//
// The futures the library made, and what a public future struct is.
//
// A running future's member lives in a table the library owns, keyed by the
// serial of the sealed token the public struct carries in `state` (see
// engine/tokens.hpp). Every entry point claims the member out of the table
// (ownership moves to the caller: a get, a destroy, an iterator), so a copy
// of the struct used later finds nothing and is recognised as stale,
// without any memory or descriptor being touched through it. A finished
// future's `state` holds a Finished marker (its status) or, for a spawn
// that failed before any child existed, a SpawnFailed marker (the
// errno): procreact_future_get() can be asked again with nothing allocated.
#pragma once

#include <memory>

#include "../engine/member.hpp"
#include "../engine/waker.hpp"
#include "procreact_future.h"

namespace procreact
{

/// What a public future struct is.
enum class Identity {
    Finished,  ///< completed: `state` holds a Finished or SpawnFailed marker
    Failed,    ///< pid <= 0 or no descriptor: never started
    Live,      ///< the library's own, running: its member was claimed
    Stale,     ///< a copy of a library future that another copy already used
    HandBuilt, ///< made by the client (0.1 style): no token in `state`
};

/// Classifies @p future and, for a live one, moves its member out of the
/// table into @p member. With @p driver, the member is registered as driven
/// by it in the same locked step (a cancellation from another thread then
/// reaches the driver).
Identity claim(const ProcReact_Future &future, std::unique_ptr<Member> &member,
               const WakerRef *driver = nullptr) noexcept;

/// Runs @p visit (under the table lock: table edits only) on the member of
/// @p future while it waits, listed, to be collected. False when there is none.
bool visit_waiting(const ProcReact_Future &future, void (*visit)(Member &, void *), void *arg) noexcept;

/// Starts the stop sequence of @p future's member while it waits to be
/// collected (the signals are sent with the member lent out of the table).
bool cancel_waiting(const ProcReact_Future &future) noexcept;

/// Whether @p future is finished; its status is stored in @p status.
bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept;

/// Marks @p future finished with @p status (`fd` becomes -1).
void mark_finished(ProcReact_Future &future, ProcReact_Status status) noexcept;

/// The `state` of a spawn that failed before any child existed, with the
/// errno saying why (ENOENT, EACCES, ...): finished with FORK_FAIL.
void *spawn_failed_marker(int error) noexcept;

/// The errno of a spawn-failed `state`, or 0.
int spawn_failed_errno(const void *state) noexcept;

/// The details known of a future that is not running (finished, failed,
/// stale or hand-built): all but a spawn failure's errno are unknown.
void fill_unknown(const ProcReact_Future &future, ProcReact_ExitInfo *info) noexcept;

/// Lists @p member (ready, with its child) and makes the public future for
/// it. Returns a future with pid -1 (errno ENOMEM) when it cannot be listed;
/// the member is then destroyed (its child killed and reaped).
ProcReact_Future publish_future(std::unique_ptr<Member> member) noexcept;

/// A member for a future built by hand: takes over its descriptor and
/// child (only if it really is an unreaped child of ours), and makes the
/// type's reading state as 0.1 does. Null when out of memory.
std::unique_ptr<Member> adopt_hand_built(const ProcReact_Future &future) noexcept;

/// A future struct with nothing in it yet (pid -1, fd -1).
ProcReact_Future empty_future(const ProcReact_Type &type) noexcept;

} // namespace procreact
