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
#include <cstdlib>
#include <memory>
#include <string>

#include "control.hpp"
#include "fd.hpp"
#include "handle.hpp"
#include "procreact_exit.h"
#include "procreact_future.h"
#include "process.hpp"

namespace procreact
{

/// What the library learns about a child's end (see ProcReact_ExitInfo).
struct Details {
    Details() noexcept = default;
    ~Details() { std::free(err_data); }
    Details(Details &&other) noexcept;
    Details &operator=(Details &&other) noexcept;
    Details(const Details &) = delete;
    Details &operator=(const Details &) = delete;

    long long start_ns = 0;
    long long end_ns = 0;
    bool have_exit = false;
    ExitRecord exit;
    int exec_errno = 0;
    unsigned int flags = 0;
    char *err_data = nullptr; // captured stderr, malloc'ed
    std::size_t err_size = 0;
    std::size_t err_capacity = 0;

    /// Fills @p info; the captured stderr is handed over (ours no more).
    void fill(ProcReact_ExitInfo *info) noexcept;
};

struct FutureCore {
    FutureCore() noexcept = default;
    ~FutureCore();
    FutureCore(const FutureCore &) = delete;
    FutureCore &operator=(const FutureCore &) = delete;

    ProcReact_Type type{};
    bool builtin = false;
    void *type_state = nullptr; // from type.initialize(); freed by finalize (or by us, for built-ins)
    UniqueFd out;               // the read end that the type decodes
    ChildWatch child;
    std::uint64_t bytes_read = 0;
    bool pipe_grown = false;     // asked for a bigger pipe already
    bool holds_big_pipe = false; // counted among the grown pipes

    // A spawned program's other streams.
    UniqueFd err;                             // captured stderr, read into details.err_data
    WriteEnd in;                              // stdin fed from `input` (non-blocking)
    std::shared_ptr<const std::string> input; // the bytes to feed, shared with the command
    std::size_t input_offset = 0;

    Details details;

    // Time and control (control.hpp).
    Serial serial = 0; // the key of its token, once listed
    StopPlan plan;
    StopState stop;
    bool limit_hit = false; // a captured stream passed plan.limit
};

/// Starts the stop sequence for @p why (a PROCREACT_EXIT_* flag).
void begin_stop(FutureCore &core, unsigned why, long long now) noexcept;

/// After a stream ended: starts the stop sequence if it passed the limit.
void check_limit(FutureCore &core, long long now) noexcept;

/// When the next step of @p core's stop sequence is due (0: none).
inline long long stop_due(const FutureCore &core) noexcept
{
    return stop_due(core.plan, core.stop);
}

/// Runs the step of the stop sequence due at @p now. Returns true when
/// reading must end now (the caller closes the streams).
bool advance_stop(FutureCore &core, long long now) noexcept;

/// Closes every stream (output, stderr, stdin).
void end_streams(FutureCore &core) noexcept;

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
/// With @p driver, a live core is registered as driven by it in the same
/// step (a cancellation from another thread then reaches the driver).
Identity claim(const ProcReact_Future &future, std::unique_ptr<FutureCore> &core, Waker *driver = nullptr) noexcept;

/// Runs @p visit (under the global lock) on the core of @p future while it
/// waits, listed, to be collected. Returns false when there is none.
bool visit_waiting(const ProcReact_Future &future, void (*visit)(FutureCore &, void *), void *arg) noexcept;

/// Whether @p future is finished; its status is stored in @p status.
bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept;

/// Marks @p future finished with @p status (`fd` becomes -1).
void mark_finished(ProcReact_Future &future, ProcReact_Status status) noexcept;

/// The marker of a spawn that failed before any child existed, with the
/// errno saying why (ENOENT, EACCES, ...). Such a future is finished with
/// PROCREACT_STATUS_FORK_FAIL.
void *spawn_failed_marker(int error) noexcept;

/// The errno of a spawn-failed marker, or 0.
int spawn_failed_errno(const void *state) noexcept;

/// Lists @p core (ready, with its child) in the future table and makes the
/// public future for it. Returns a future with pid -1 (errno ENOMEM) when it
/// cannot be listed; @p core is then destroyed (its child killed and reaped).
ProcReact_Future publish_future(std::unique_ptr<FutureCore> core) noexcept;

/// Makes a future: pipe, fork, core. See procreact_initialize_future().
ProcReact_Future start_future(const ProcReact_Type &type) noexcept;

/// A core for a future built by hand: takes over its descriptor and child,
/// and makes the type's reading state as 0.1 does. Null when out of memory.
std::unique_ptr<FutureCore> adopt_hand_built(const ProcReact_Future &future) noexcept;

enum class Pump { Data, End, Again };

/// Calls the type's append once. End on end of stream, on an error of a
/// built-in read, and whenever a custom append returns -1 (its own error).
Pump pump(FutureCore &core) noexcept;

/// Reads a chunk of captured stderr. Returns false at its end (the caller
/// closes `err`, after taking it out of any epoll set).
bool pump_err(FutureCore &core) noexcept;

/// Writes what the child's stdin takes now. Returns false once everything
/// is written or the child no longer reads (the caller then calls
/// end_input(), after taking `in` out of any epoll set).
bool feed_in(FutureCore &core) noexcept;

/// Closes the child's stdin and drops the input still unwritten.
void end_input(FutureCore &core) noexcept;

/// Whether every output stream has ended (stdin may still be fed).
inline bool reading_done(const FutureCore &core) noexcept
{
    return !core.out && !core.err;
}

/// Pumps every stream until the outputs end, sleeping while nothing moves,
/// and runs the stop sequence on time; then waits (likewise) for the child
/// to exit, without reaping it. @p waker, when given, is watched for
/// cancellations of @p core.
void read_all(FutureCore &core, Waker *waker = nullptr) noexcept;

/// Closes the read end: reading has ended, and a child still writing must
/// not block on a full pipe while anybody waits for it.
void end_reading(FutureCore &core) noexcept;

/// Finishes: closes the read end, reaps the child (a built-in type through
/// the watch; a custom type's finalize waits itself, and a child it leaves is
/// reaped by the library, now or later), stores the result in
/// `future.result` and marks @p future finished.
/// With @p details, the exit details move there.
void *finish(ProcReact_Future &future, std::unique_ptr<FutureCore> core, ProcReact_Status *status,
             Details *details = nullptr) noexcept;

/// Makes the exit details of @p future (the library's own struct handed to a
/// completion callback) available to procreact_future_info() on this thread
/// while the scope lasts. Scopes nest (a callback may drive another iterator).
class CompletionScope {
public:
    CompletionScope(const ProcReact_Future *future, Details *details) noexcept;
    ~CompletionScope();
    CompletionScope(const CompletionScope &) = delete;
    CompletionScope &operator=(const CompletionScope &) = delete;

    /// The details of @p future if it is being completed on this thread.
    static Details *find(const ProcReact_Future *future) noexcept;

private:
    const ProcReact_Future *future_;
    Details *details_;
    CompletionScope *outer_;
};

/// The details known of a future that is not running (finished, failed,
/// stale or hand-built): all but a spawn failure's errno are unknown.
void fill_unknown(const ProcReact_Future &future, ProcReact_ExitInfo *info) noexcept;

} // namespace procreact
