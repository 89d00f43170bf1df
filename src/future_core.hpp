// SPDX-License-Identifier: MIT
//
// The parent side of one future.
//
// A future made by procreact_initialize_future() keeps a FutureCore in its
// public `state` field: the type's reading state, the owned read end of the
// pipe (its number is mirrored in `fd`) and the watched child. Once the future
// is finished, `state` points into a small static table of completion markers
// instead, one per status, so that procreact_future_get() can be asked again
// without anything left allocated.
//
// Futures that a client built by hand (the 0.1 way: `state` = the type's own
// state) are still accepted; they are recognised by the absence of the
// core's tag, read the same way, and waited for through their pid only.
#pragma once

#include <cstdint>

#include "fd.hpp"
#include "procreact_future.h"
#include "process.hpp"

namespace procreact {

struct FutureCore {
    static constexpr std::uint64_t kTag = 0x70726f6372656163; // "procreac"

    FutureCore() noexcept = default;
    ~FutureCore() { tag = 0; }
    FutureCore(const FutureCore &) = delete;
    FutureCore &operator=(const FutureCore &) = delete;

    std::uint64_t tag = kTag; // must stay first
    void *type_state = nullptr;
    UniqueFd read_fd;
    ChildWatch child;
    std::uint64_t bytes_read = 0;
    bool pipe_grown = false;
};

/// The core of a future made by procreact_initialize_future(), or nullptr.
FutureCore *core_of(const ProcReact_Future &future) noexcept;

/// Whether @p future is finished; its status is stored in @p status.
bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept;

/// Makes a future: pipe, fork, core. See procreact_initialize_future().
ProcReact_Future start_future(const ProcReact_Type &type) noexcept;

enum class Pump { Data, End, Again };

/// Calls the type's append once. End on end of stream or a read error.
Pump pump(ProcReact_Future &future, FutureCore *core) noexcept;

/// The type's finalize, then releases the pipe and the child, stores the
/// result in `future.result` and marks the future finished. Call after end of
/// stream, and once the child has exited where it must not block.
void *finish(ProcReact_Future &future, ProcReact_Status *status) noexcept;

/// Gives up on an unfinished future: kills and reaps its child, frees the
/// reading state (a built-in result that appears anyway is freed).
void abandon(ProcReact_Future &future) noexcept;

} // namespace procreact
