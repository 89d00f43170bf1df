// SPDX-License-Identifier: MIT
//
// The parent side of one future, and how the library finds it.
//
// A future made by the library has a FutureCore: the type's reading state,
// the owned read end of the pipe (its number is mirrored in `fd`) and the
// owned child. Cores live in a table the library owns, keyed by the serial of
// the token that the public struct carries in `state` (see handle.hpp). Every
// entry point claims the core out of the table (ownership moves to the
// caller: a get, a destroy, an iterator), so a copy of the struct that is
// used later finds nothing and is recognised as stale, without any memory or
// descriptor being touched through it.
//
// Once finished, `state` holds one of a small static set of completion
// markers, one per status, so that procreact_future_get() can be asked again
// without anything left allocated.
#pragma once

#include <cstdint>
#include <memory>

#include "fd.hpp"
#include "handle.hpp"
#include "procreact_future.h"
#include "process.hpp"

namespace procreact {

struct FutureCore {
    FutureCore() noexcept = default;
    ~FutureCore();
    FutureCore(const FutureCore &) = delete;
    FutureCore &operator=(const FutureCore &) = delete;

    Serial serial = 0;
    ProcReact_Type type{};
    bool builtin = false;
    void *type_state = nullptr; // from type.initialize(); freed by finalize (or by us, for built-ins)
    UniqueFd out;               // the read end that the type decodes
    ChildWatch child;
    std::uint64_t bytes_read = 0;
    bool pipe_grown = false;     // asked for a bigger pipe already
    bool holds_big_pipe = false; // counted among the grown pipes
};

/// What a public future struct is.
enum class Identity {
    Finished,  ///< completed: `state` holds a completion marker
    Failed,    ///< pid <= 0 or no descriptor: never started
    Live,      ///< the library's own, running: its core was claimed
    Stale,     ///< a copy of a library future that another copy already used
    HandBuilt, ///< made by the client (0.1 style): no token in `state`
};

/// Classifies @p future and, for a live one, moves its core out of the
/// library's table into @p core.
Identity claim(const ProcReact_Future &future, std::unique_ptr<FutureCore> &core) noexcept;

/// Whether @p future is finished; its status is stored in @p status.
bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept;

/// Marks @p future finished with @p status (`fd` becomes -1).
void mark_finished(ProcReact_Future &future, ProcReact_Status status) noexcept;

/// Makes a future: pipe, fork, core. See procreact_initialize_future().
ProcReact_Future start_future(const ProcReact_Type &type) noexcept;

/// A core for a future built by hand: takes over its descriptor and child,
/// and makes the type's reading state as 0.1 does. Null when out of memory.
std::unique_ptr<FutureCore> adopt_hand_built(const ProcReact_Future &future) noexcept;

enum class Pump { Data, End, Again };

/// Calls the type's append once. End on end of stream, on an error of a
/// built-in read, and whenever a custom append returns -1 (its own error).
Pump pump(FutureCore &core) noexcept;

/// Pumps until reading ends, sleeping while nothing is readable.
void read_all(FutureCore &core) noexcept;

/// Closes the read end: reading has ended, and a child still writing must
/// not block on a full pipe while anybody waits for it.
void end_reading(FutureCore &core) noexcept;

/// Finishes: closes the read end, reaps the child (a built-in type through
/// the watch; a custom type's finalize waits itself, and a child it leaves is
/// reaped by the library, now or later), stores the result in
/// `future.result` and marks @p future finished.
void *finish(ProcReact_Future &future, std::unique_ptr<FutureCore> core, ProcReact_Status *status) noexcept;

} // namespace procreact
