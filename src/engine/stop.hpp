// SPDX-License-Identifier: MIT
//
// The stop sequence: how a child that is timed out or cancelled is ended.
//
// A child being stopped goes through phases: Running (with an optional
// deadline), Signalled (the stop signal sent, SIGKILL due after the grace
// period), Killed (SIGKILL sent; reading is abandoned a short while later if
// a process outside the child's group still holds its pipe) and Abandoned.
// Each phase but the last has a due time; whoever drives the child sleeps
// until the earliest one, never polling. The signals are system calls: the
// driver sends them, never with the table lock held.
#pragma once

#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdint>

#include "../os/child_watch.hpp"
#include "../os/clock.hpp"

namespace procreact
{

constexpr long long kDefaultGraceNs = 2 * kNsPerSecond;
/// After SIGKILL, how long a pipe that a process outside the group holds
/// open is still read.
constexpr long long kAbandonAfterNs = 250 * kNsPerMs;

/// How a child is stopped, and when.
struct StopPlan {
    long long deadline_ns = 0; ///< CLOCK_MONOTONIC; 0: none
    int signo = SIGTERM;       ///< the first signal; 0: SIGKILL at once
    long long grace_ns = kDefaultGraceNs;
    std::size_t limit = SIZE_MAX; ///< cap of each captured stream
    bool own_deadline = false;    ///< set on the future itself (collection defaults do not replace it)
    bool own_stop = false;
};

enum class StopPhase : unsigned char { Running, Signalled, Killed, Abandoned };

/// Where a child is in its stop sequence.
struct StopState {
    StopPhase phase = StopPhase::Running;
    long long next_ns = 0; ///< when the next phase is due (Signalled, Killed)
};

/// A collection's settings for the children that have none of their own.
struct StopDefaults {
    long long timeout_ns = -1; ///< -1: none
    bool stop_set = false;
    int signo = SIGTERM;
    long long grace_ns = kDefaultGraceNs;

    /// Fills what @p plan does not set itself; deadlines count from @p now.
    void apply(StopPlan &plan, long long now) const noexcept;
    /// Whether apply() reads its @p now for @p plan (a default deadline).
    bool needs_now(const StopPlan &plan) const noexcept { return !plan.own_deadline && timeout_ns >= 0; }
};

/// When the next step is due for a child that runs under @p plan (0: never).
long long stop_due(const StopPlan &plan, const StopState &state) noexcept;

/// Starts the stop sequence (once; later reasons only add their flag).
void begin_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags, unsigned why,
                long long now) noexcept;

/// Runs what is due at @p now. Returns true when reading must end now.
bool advance_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags,
                  long long now) noexcept;

/// Checks the public arguments of a stop setting: the signal and the grace.
bool parse_stop(int signo, double grace_seconds, long long *grace_ns) noexcept;

} // namespace procreact
