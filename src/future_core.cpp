// SPDX-License-Identifier: MIT
#include "future_core.hpp"

#include <atomic>
#include <cerrno>
#include <new>
#include <unordered_map>
#include <utility>
#include <algorithm>
#include <vector>

#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#include "types.hpp"

namespace procreact
{
namespace
{

// Completion markers: a finished future's state points at the entry of its status.
constexpr int kMarkers = 16;
char g_finished[kMarkers];
// A spawn that failed: the entry of its errno.
constexpr int kMaxErrno = 4096;
char g_spawn_failed[kMaxErrno];

// The live futures. A forked child drops the parent's (its children are
// not the child's own).
TokenTable<FutureCore> g_futures(TokenKind::Future);

// The parent's read end, grown once a child shows that it writes a lot. The
// default 64 KiB pipe makes a large transfer cost one context switch per 64
// KiB. Every grown pipe counts against the user's pipe budget
// (/proc/sys/fs/pipe-user-pages-soft), for every program of that user: only
// a few are grown at once.
constexpr std::uint64_t kGrowAfter = 64 * 1024;
constexpr int kBigPipe = 1 << 20;
constexpr int kMaxGrown = 16;
std::atomic<int> g_grown{0};

void drop_in_child() noexcept
{
    g_futures.drop_in_child();
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

bool is_spawn_failed(const void *state) noexcept
{
    const auto *marker = static_cast<const char *>(state);
    return marker >= &g_spawn_failed[0] && marker < &g_spawn_failed[kMaxErrno];
}

bool is_marker(const void *state) noexcept
{
    const auto *marker = static_cast<const char *>(state);
    return (marker >= &g_finished[0] && marker < &g_finished[kMarkers]) || is_spawn_failed(state);
}

constexpr std::size_t kErrChunk = 64 * 1024;

double seconds(const struct timeval &tv) noexcept
{
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// write() with SIGPIPE held back: a child that stops reading its stdin
// makes the write fail with EPIPE instead of killing the parent.
ssize_t write_no_sigpipe(int fd, const void *data, std::size_t len) noexcept
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n;
    do
        n = ::write(fd, data, len);
    while (n < 0 && errno == EINTR);
    const int err = errno;
    if (n < 0 && err == EPIPE && !was_pending) {
        // Take the SIGPIPE this write raised, so it never reaches the application.
        const struct timespec zero {
        };
        while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
    return n;
}

// After a custom finalize: the child is reaped (by the finalize), reaped now
// (it has exited), or left to reap_leftovers() (it still runs).
void settle_child(ChildWatch &child) noexcept
{
    if (!child.owns())
        return;
    if (!child.is_our_child()) {
        child.release(); // the finalize reaped it
        return;
    }
    if (child.reap(nullptr, false) != 0)
        return;
    hand_to_reaper(std::move(child));
}

} // namespace

FutureCore::~FutureCore()
{
    end_reading(*this);
    // Abandoned before it finished: stop the child (the watch kills and
    // reaps it) and free a built-in state, or a custom type's bare public
    // struct meant for an exported finalize; any other custom state has no
    // free function, so it is dropped.
    child.kill_and_reap();
    free_builtin_state(type, type_state);
}

namespace
{
thread_local CompletionScope *t_completing = nullptr;
} // namespace

CompletionScope::CompletionScope(const ProcReact_Future *future, Details *details) noexcept
    : future_(future), details_(details), outer_(t_completing)
{
    t_completing = this;
}

CompletionScope::~CompletionScope()
{
    t_completing = outer_;
}

Details *CompletionScope::find(const ProcReact_Future *future) noexcept
{
    // Compared by address only: the struct is the library's own copy.
    for (CompletionScope *scope = t_completing; scope != nullptr; scope = scope->outer_)
        if (scope->future_ == future)
            return scope->details_;
    return nullptr;
}

void fill_unknown(const ProcReact_Future &future, ProcReact_ExitInfo *info) noexcept
{
    Details none;
    none.exec_errno = spawn_failed_errno(future.state);
    none.fill(info);
}

Details::Details(Details &&other) noexcept
{
    *this = std::move(other);
}

Details &Details::operator=(Details &&other) noexcept
{
    if (this != &other) {
        std::free(err_data);
        start_ns = other.start_ns;
        end_ns = other.end_ns;
        have_exit = other.have_exit;
        exit = other.exit;
        exec_errno = other.exec_errno;
        flags = other.flags;
        err_data = other.err_data;
        err_size = other.err_size;
        err_capacity = other.err_capacity;
        other.err_data = nullptr;
        other.err_size = other.err_capacity = 0;
    }
    return *this;
}

void Details::fill(ProcReact_ExitInfo *info) noexcept
{
    std::memset(info, 0, sizeof *info);
    info->exit_code = -1;
    info->exec_errno = exec_errno;
    info->flags = flags;
    if (have_exit) {
        const int w = exit.wstatus;
        if (WIFEXITED(w)) {
            info->exited = 1;
            info->exit_code = WEXITSTATUS(w);
        } else if (WIFSIGNALED(w)) {
            info->signal = WTERMSIG(w);
            info->core_dumped = WCOREDUMP(w) ? 1 : 0;
        }
        info->user_time = seconds(exit.usage.ru_utime);
        info->system_time = seconds(exit.usage.ru_stime);
        info->max_rss_kib = exit.usage.ru_maxrss;
        if (start_ns != 0 && end_ns >= start_ns)
            info->wall_time = static_cast<double>(end_ns - start_ns) / 1e9;
    }
    info->stderr_data = err_data;
    info->stderr_length = err_size;
    err_data = nullptr;
    err_size = err_capacity = 0;
}

void *spawn_failed_marker(int error) noexcept
{
    if (error <= 0 || error >= kMaxErrno)
        error = EIO;
    return &g_spawn_failed[error];
}

int spawn_failed_errno(const void *state) noexcept
{
    return is_spawn_failed(state) ? static_cast<int>(static_cast<const char *>(state) - &g_spawn_failed[0]) : 0;
}

bool finished_status(const ProcReact_Future &future, ProcReact_Status *status) noexcept
{
    if (!is_marker(future.state))
        return false;
    if (is_spawn_failed(future.state)) {
        *status = PROCREACT_STATUS_FORK_FAIL;
        return true;
    }
    *status = static_cast<ProcReact_Status>(static_cast<const char *>(future.state) - &g_finished[0]);
    return true;
}

void mark_finished(ProcReact_Future &future, ProcReact_Status status) noexcept
{
    int index = static_cast<int>(status);
    if (index < 0 || index >= kMarkers)
        index = kMarkers - 1;
    future.state = &g_finished[index];
    future.fd = -1;
}

Identity claim(const ProcReact_Future &future, std::unique_ptr<FutureCore> &core, Waker *driver) noexcept
{
    if (is_marker(future.state))
        return Identity::Finished;
    if (future.pid <= 0)
        return Identity::Failed;
    Serial serial;
    if (!open_token(future.state, TokenKind::Future, &serial))
        return future.fd < 0 ? Identity::Failed : Identity::HandBuilt;
    // A stale copy finds nothing, or an entry for another child.
    core = g_futures.take_if(future.state, [&](const FutureCore &entry) {
        if (entry.child.pid() != future.pid || entry.out.get() != future.fd)
            return false;
        if (driver != nullptr)
            drive_register_locked(serial, driver); // under the table's lock: no cancellation falls between
        return true;
    });
    if (!core)
        return Identity::Stale;
    core->serial = serial;
    return Identity::Live;
}

bool visit_waiting(const ProcReact_Future &future, void (*visit)(FutureCore &, void *), void *arg) noexcept
{
    if (is_marker(future.state) || future.pid <= 0)
        return false;
    bool found = false;
    g_futures.take_if(future.state, [&](FutureCore &entry) {
        if (entry.child.pid() == future.pid && entry.out.get() == future.fd) {
            found = true;
            visit(entry, arg);
        }
        return false; // stays listed
    });
    return found;
}

ProcReact_Future publish_future(std::unique_ptr<FutureCore> core) noexcept
{
    ProcReact_Future future;
    future.pid = -1;
    future.fd = -1;
    future.type = core->type;
    future.result = nullptr;
    future.state = nullptr;
    const pid_t pid = core->child.pid();
    const int fd = core->out.get();
    void *token;
    try {
        token = g_futures.insert(core);
    } catch (...) {
        errno = ENOMEM;
        return future; // core destroyed: its child killed and reaped
    }
    future.pid = pid;
    future.fd = fd;
    future.state = token;
    return future;
}

ProcReact_Future start_future(const ProcReact_Type &type) noexcept
{
    ProcReact_Future future;
    future.pid = -1;
    future.fd = -1;
    future.type = type;
    future.result = nullptr;
    future.state = nullptr;
    if (type.append == nullptr || type.finalize == nullptr) {
        errno = EINVAL;
        return future;
    }
    reap_leftovers();

    std::unique_ptr<FutureCore> core(new (std::nothrow) FutureCore());
    if (!core) {
        errno = ENOMEM;
        return future;
    }
    core->type = type;
    core->builtin = is_builtin_type(type);
    // A built-in reading state exists before the child does (the allocator's
    // pages are then not written while shared with a running child); a
    // custom one is made after the fork, so that a failed fork leaks nothing.
    if (core->builtin) {
        core->type_state = builtin_initialize(type);
        if (core->type_state == nullptr) {
            errno = ENOMEM;
            return future;
        }
    }

    UniqueFd read_end;
    WriteEnd write_end;
    if (!make_pipe(read_end, write_end))
        return future;
    FutureCore *raw = core.get();
    void *token;
    try {
        token = g_futures.insert(core);
    } catch (...) {
        errno = ENOMEM;
        return future;
    }

    keep_in_next_child(write_end.get());
    const pid_t pid = ::fork();
    keep_in_next_child(-1);

    if (pid == 0) {
        // The child. Nothing here may throw or free: the parent's core stays
        // in the dropped table. Its own read end is closed, so that a parent
        // that stops reading early makes its writes fail instead of block.
        ::close(read_end.release());
        const int fd = write_end.release_in_child();
        // The result pipe is the child's own: keep it across exec().
        ::fcntl(fd, F_SETFD, 0);
        future.pid = 0;
        future.fd = fd;
        return future;
    }
    if (pid < 0) {
        const int err = errno;
        core = g_futures.take(token); // freed here, with its built-in state
        errno = err;
        return future;
    }

    write_end.reset();
    // Nobody else can reach the entry before the token exists.
    raw->details.start_ns = monotonic_ns();
    raw->child = ChildWatch(pid, ChildWatch::Pidfd::Later);
    raw->out = std::move(read_end);
    if (!raw->builtin && type.initialize != nullptr)
        raw->type_state = type.initialize();
    future.pid = pid;
    future.fd = raw->out.get();
    future.state = token;
    return future;
}

std::unique_ptr<FutureCore> adopt_hand_built(const ProcReact_Future &future) noexcept
{
    std::unique_ptr<FutureCore> core(new (std::nothrow) FutureCore());
    if (!core)
        return core;
    core->type = future.type;
    core->builtin = is_builtin_type(future.type);
    core->out.reset(future.fd); // 0.1 closes it once read
    // Owned only if it really is an unreaped child of ours: never signal or
    // reap anybody else's process.
    ChildWatch child(future.pid, ChildWatch::Pidfd::Later);
    if (child.is_our_child())
        core->child = std::move(child);
    else
        child.release();
    if (core->builtin)
        core->type_state = builtin_initialize(future.type);
    else if (future.type.initialize != nullptr)
        core->type_state = future.type.initialize();
    return core;
}

Pump pump(FutureCore &core) noexcept
{
    if (core.type.append == nullptr || !core.out)
        return Pump::End;
    const ssize_t n = core.builtin ? builtin_append(core.type, core.type_state, core.out.get())
                                   : core.type.append(&core.type, core.type_state, core.out.get());
    if (n > 0) {
        core.bytes_read += static_cast<std::uint64_t>(n);
        if (core.bytes_read > core.plan.limit) {
            // Past the cap: keep exactly the cap where the type allows it.
            truncate_builtin_state(core.type, core.type_state, core.plan.limit);
            core.limit_hit = true;
            return Pump::End;
        }
        if (!core.pipe_grown) {
            if (core.bytes_read >= kGrowAfter) {
                core.pipe_grown = true; // asked once, whatever the answer
                if (g_grown.fetch_add(1, std::memory_order_relaxed) < kMaxGrown &&
                    ::fcntl(core.out.get(), F_SETPIPE_SZ, kBigPipe) >= 0)
                    core.holds_big_pipe = true; // given back when the read end closes
                else
                    g_grown.fetch_sub(1, std::memory_order_relaxed);
            }
        }
        return Pump::Data;
    }
    // A built-in type reads itself, so its EAGAIN is real (a non-blocking
    // descriptor of a hand-built future). A custom type's -1 is its own error,
    // whatever errno it leaves behind.
    if (n < 0 && core.builtin && (errno == EAGAIN || errno == EWOULDBLOCK))
        return Pump::Again;
    return Pump::End;
}

bool pump_err(FutureCore &core) noexcept
{
    Details &d = core.details;
    if (d.err_capacity - d.err_size < kErrChunk / 4) {
        std::size_t capacity = d.err_capacity ? d.err_capacity * 2 : kErrChunk;
        auto *grown = static_cast<char *>(std::realloc(d.err_data, capacity));
        if (grown != nullptr) {
            d.err_data = grown;
            d.err_capacity = capacity;
        }
    }
    ssize_t n;
    char sink[4096];
    const bool room = d.err_capacity > d.err_size;
    do
        n = room ? ::read(core.err.get(), d.err_data + d.err_size, d.err_capacity - d.err_size)
                 : ::read(core.err.get(), sink, sizeof sink); // out of memory: drain, drop
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        if (room)
            d.err_size += static_cast<std::size_t>(n);
        if (d.err_size > core.plan.limit) {
            d.err_size = core.plan.limit;
            core.limit_hit = true;
            return false;
        }
        return true;
    }
    return n < 0 && errno == EAGAIN;
}

bool feed_in(FutureCore &core) noexcept
{
    const std::string *input = core.input.get();
    while (input != nullptr && core.input_offset < input->size()) {
        const ssize_t n =
            write_no_sigpipe(core.in.get(), input->data() + core.input_offset, input->size() - core.input_offset);
        if (n > 0) {
            core.input_offset += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true; // full: the child reads on
        break;           // EPIPE: the child no longer reads
    }
    return false;
}

void end_input(FutureCore &core) noexcept
{
    core.in.reset(); // the child sees end of input
    core.input.reset();
}

namespace
{

// A cancellation posted for @p core to @p waker (or for its whole set).
bool cancel_posted(const FutureCore &core, Waker &waker) noexcept
{
    if (waker.all_requested())
        return true;
    for (Serial serial : waker.take())
        if (serial == core.serial)
            return true;
    return false;
}

// Waits for the child's exit (without reaping it) while the stop sequence
// and cancellations are served.
void wait_exit(FutureCore &core, Waker *waker) noexcept
{
    if (!core.child.owns() || core.child.has_exited())
        return;
    const bool pidfd = core.child.ensure_pidfd();
    int backoff = 1;
    for (;;) {
        const long long due = stop_due(core);
        if (pidfd && waker == nullptr && due == 0) {
            core.child.wait_exited();
            return;
        }
        struct pollfd fds[2];
        nfds_t n = 0;
        if (pidfd)
            fds[n++] = {core.child.pidfd(), POLLIN, 0};
        const nfds_t waker_at = n;
        if (waker != nullptr)
            fds[n++] = {waker->fd(), POLLIN, 0};
        long long now = monotonic_ns();
        int timeout = ms_until(due, now);
        if (!pidfd && (timeout < 0 || timeout > backoff))
            timeout = backoff; // no pidfd: look now and then
        const int r = ::poll(fds, n, timeout);
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return; // cannot wait: the reap that follows blocks instead
        now = monotonic_ns();
        if (r > 0 && waker != nullptr && fds[waker_at].revents != 0 && cancel_posted(core, *waker))
            begin_stop(core, PROCREACT_EXIT_CANCELLED, now);
        advance_stop(core, now);
        if (core.child.has_exited())
            return;
        backoff = std::min(backoff * 2, 50);
    }
}

} // namespace

void read_all(FutureCore &core, Waker *waker) noexcept
{
    // Whichever stream moves is served, so that a child filling one pipe
    // while the parent waits on another never deadlocks. A custom append
    // does one read on a blocking descriptor: called only once the
    // descriptor is readable, its read cannot be interrupted, so a -1 is the
    // type's own error whatever errno says.
    while (core.out || core.err || core.in.valid()) {
        struct pollfd fds[4];
        nfds_t n = 0;
        int out_at = -1, err_at = -1, in_at = -1, waker_at = -1;
        if (core.out) {
            out_at = static_cast<int>(n);
            fds[n++] = {core.out.get(), POLLIN, 0};
        }
        if (core.err) {
            err_at = static_cast<int>(n);
            fds[n++] = {core.err.get(), POLLIN, 0};
        }
        if (core.in.valid()) {
            in_at = static_cast<int>(n);
            fds[n++] = {core.in.get(), POLLOUT, 0};
        }
        if (waker != nullptr) {
            waker_at = static_cast<int>(n);
            fds[n++] = {waker->fd(), POLLIN, 0};
        }
        long long now = 0;
        const long long due = stop_due(core);
        if (due != 0)
            now = monotonic_ns();
        const int r = ::poll(fds, n, ms_until(due, now));
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        if (due != 0 || (waker_at >= 0 && fds[waker_at].revents != 0))
            now = monotonic_ns();
        if (out_at >= 0 && fds[out_at].revents != 0 && pump(core) == Pump::End)
            end_reading(core);
        if (err_at >= 0 && fds[err_at].revents != 0 && !pump_err(core))
            core.err.reset();
        if (in_at >= 0 && fds[in_at].revents != 0 && !feed_in(core))
            end_input(core);
        if (core.limit_hit) {
            if (now == 0)
                now = monotonic_ns();
            check_limit(core, now);
        }
        if (waker_at >= 0 && fds[waker_at].revents != 0 && cancel_posted(core, *waker))
            begin_stop(core, PROCREACT_EXIT_CANCELLED, now);
        if (due != 0 && advance_stop(core, now))
            end_streams(core);
    }
    end_streams(core);
    wait_exit(core, waker);
}

void begin_stop(FutureCore &core, unsigned why, long long now) noexcept
{
    begin_stop(core.child, core.plan, core.stop, core.details.flags, why, now);
}

void check_limit(FutureCore &core, long long now) noexcept
{
    if (core.limit_hit)
        begin_stop(core, PROCREACT_EXIT_OUTPUT_LIMIT, now);
}

bool advance_stop(FutureCore &core, long long now) noexcept
{
    return advance_stop(core.child, core.plan, core.stop, core.details.flags, now);
}

void end_streams(FutureCore &core) noexcept
{
    end_reading(core);
    core.err.reset();
    end_input(core);
}

void end_reading(FutureCore &core) noexcept
{
    if (!core.out)
        return;
    if (core.holds_big_pipe)
        g_grown.fetch_sub(1, std::memory_order_relaxed);
    core.holds_big_pipe = false;
    core.out.reset();
}

void *finish(ProcReact_Future &future, std::unique_ptr<FutureCore> core, ProcReact_Status *status,
             Details *details) noexcept
{
    // Everything closes before anything waits: a child still writing (or
    // still reading its input) must end rather than block.
    end_streams(*core);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    void *result = nullptr;
    Details &d = core->details;
    if (core->type.finalize == nullptr) {
        st = PROCREACT_STATUS_FORK_FAIL;
    } else if (core->builtin) {
        // The library reaps its own child, through the watch.
        Outcome outcome;
        if (core->child.reap(&d.exit, true) == 1) {
            d.have_exit = true;
            d.end_ns = monotonic_ns();
            outcome = outcome_of(d.exit.wstatus);
            outcome.keep_output = d.flags != 0; // stopped by the library: what arrived is kept
        } else {
            outcome.status = PROCREACT_STATUS_WAIT_FAIL;
        }
        result = finalize_builtin(core->type, core->type_state, outcome, &st);
        core->type_state = nullptr;
    } else {
        // A custom finalize waits for the pid itself, and is promised a
        // child that has exited (its wait returns at once). Watching the
        // child through a pidfd first (while it is certainly unreaped) lets
        // the library tell afterwards, exactly, whether it is left to reap.
        core->child.ensure_pidfd();
        core->child.wait_exited();
        if (core->child.peek(&d.exit) == 1) {
            d.have_exit = true;
            d.end_ns = monotonic_ns();
        }
        result = core->type.finalize(core->type_state, future.pid, &st);
        core->type_state = nullptr;
        settle_child(core->child);
    }
    if (details != nullptr)
        *details = std::move(d);
    future.result = result;
    mark_finished(future, st);
    if (status != nullptr)
        *status = st;
    return result;
}

} // namespace procreact
