// SPDX-License-Identifier: MIT
//
// Member: one child that the engine drives, with or without streams.
//
// A future's member carries the type's reading state and the captured
// streams (output, stderr, stdin fed from bytes); a pid iterator's member
// carries only the child. Both carry the stop sequence and the exit details,
// and the bookkeeping of the collection that drives them. A member owns its
// child: destroying it stops and reaps the child (see ChildWatch).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../os/child_watch.hpp"
#include "../os/fd.hpp"
#include "../os/unshared.hpp"
#include "channel_end.hpp"
#include "exit_details.hpp"
#include "procreact_future.h"
#include "stop.hpp"
#include "tokens.hpp"

namespace procreact
{

struct Member;
using TimerQueue = std::multimap<long long, Member *>;

// Aligned to 8 on every system: a collection tags events with a member's
// address and its stream in the low 3 bits. Kept in unshared memory: the
// parent writes it while the child it stands for runs.
struct alignas(8) Member : UnsharedObject {
    Member() noexcept = default;
    ~Member();
    Member(const Member &) = delete;
    Member &operator=(const Member &) = delete;

    // The child, how it is stopped and what is known of its end.
    Serial serial = 0; // a future's token serial, once listed (0: none)
    ChildWatch child;
    Details details;
    StopPlan plan;
    StopState stop;
    bool limit_hit = false; // a captured stream passed plan.limit

    // A future's reading state and streams.
    ProcReact_Type type{};
    bool builtin = false;       // the type is one of the library's own
    void *type_state = nullptr; // from type.initialize(); freed by finalize (or by us, for built-ins)
    UniqueFd out;               // the read end that the type decodes
    bool out_blocks = false;    // out is a pipe of the library's, in blocking mode
    UniqueFd err;               // captured stderr, read into details.err_data
    WriteEnd in;                // stdin fed from `input` (non-blocking)
    std::shared_ptr<const std::string> input;
    std::size_t input_offset = 0;
    std::uint64_t bytes_read = 0;
    bool pipe_grown = false;     // asked for a bigger pipe already
    bool holds_big_pipe = false; // counted among the grown pipes

    // A message channel with the child (shared with the caller's handles).
    std::shared_ptr<ChannelEnd> chan;
    std::uint32_t chan_events = 0; // what the collection watches it for (0: not watched)
    bool chan_done = false;        // the collection saw its reading end
    bool chan_ready = false;       // listed for channel events (see Collection::pop_channel_ready)

    // The public struct handed to `complete` (future iterators).
    ProcReact_Future future{};
    // A driver's own label (a batch's job index).
    std::size_t job = 0;

    // The collection's bookkeeping.
    std::size_t index = 0;
    bool exited = false;
    bool queued = false;           // on the collection's done list
    bool unwatched = false;        // its exit is looked for now and then (no pidfd)
    bool pid_wait = false;         // its exit is waited for by pid alone (Collection: pidless waits)
    bool ring_wait = false;        // its exit is watched through the collection's ExitRing
    std::uint64_t ring_token = 0;  // that watch's token (its completion names it; 0: not submitted yet)
    Member *next_done = nullptr;   // the done list is intrusive: no allocation
    long long timer_due = 0;       // its key in the timer queue (0: none)
    TimerQueue::iterator timer_it; // valid while timer_due != 0
};

/// Members held together (a collection's, a step's done ones): the list
/// grows and shrinks while the children run, so it is in unshared memory.
using MemberList = std::vector<std::unique_ptr<Member>, UnsharedAllocator<std::unique_ptr<Member>>>;

/// Starts the stop sequence for @p why (a PROCREACT_EXIT_* flag).
void begin_stop(Member &m, unsigned why, long long now) noexcept;

/// Runs the step of the stop sequence due at @p now. Returns true when
/// reading must end now (the caller closes the streams).
bool advance_stop(Member &m, long long now) noexcept;

/// When the next step of @p m's stop sequence is due (0: none).
inline long long stop_due(const Member &m) noexcept
{
    return stop_due(m.plan, m.stop);
}

enum class Pump { Data, End, Again };

/// Calls the type's append once. End on end of stream, on an error of a
/// built-in read, and whenever a custom append returns -1 (its own error).
Pump pump(Member &m) noexcept;

/// Reads a chunk of captured stderr. Returns false at its end.
bool pump_err(Member &m) noexcept;

/// Writes what the child's stdin takes now. Returns false once everything
/// is written or the child no longer reads.
bool feed_in(Member &m) noexcept;

/// Closes the child's stdin and drops the input still unwritten.
void end_input(Member &m) noexcept;

/// Closes the read end: reading has ended, and a child still writing must
/// not block on a full pipe while anybody waits for it.
void end_reading(Member &m) noexcept;

/// Closes every stream (output, stderr, stdin) and ends the channel's reading.
void end_streams(Member &m) noexcept;

/// Whether every output stream has ended, the channel's included (stdin
/// and the channel's send queue may still be written).
inline bool reading_done(const Member &m) noexcept
{
    return !m.out && !m.err && (!m.chan || m.chan->read_ended());
}

} // namespace procreact
