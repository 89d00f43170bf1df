// SPDX-License-Identifier: MIT
//
// Member: moving a child's bytes (output, stderr, stdin) and its stop sequence.
#include "member.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "../types.hpp"

namespace procreact
{
namespace
{

// The parent's read end, grown once a child shows that it writes a lot. The
// default 64 KiB pipe makes a large transfer cost one context switch per 64
// KiB. Every grown pipe counts against the user's pipe budget
// (/proc/sys/fs/pipe-user-pages-soft), for every program of that user: only
// a few are grown at once.
constexpr std::uint64_t kGrowAfter = 64 * 1024;
constexpr int kBigPipe = 1 << 20;
constexpr int kMaxGrown = 16;
std::atomic<int> g_grown{0};

constexpr std::size_t kErrChunk = 64 * 1024;

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

void maybe_grow_pipe(Member &m) noexcept
{
    if (m.pipe_grown || m.bytes_read < kGrowAfter)
        return;
    m.pipe_grown = true; // asked once, whatever the answer
    if (g_grown.fetch_add(1, std::memory_order_relaxed) < kMaxGrown &&
        ::fcntl(m.out.get(), F_SETPIPE_SZ, kBigPipe) >= 0)
        m.holds_big_pipe = true; // given back when the read end closes
    else
        g_grown.fetch_sub(1, std::memory_order_relaxed);
}

} // namespace

Member::~Member()
{
    if (chan)
        chan->detach(); // no collection hears of it any more
    end_streams(*this);
    // Abandoned before it finished: stop the child (the watch kills and
    // reaps it) and free a built-in state, or a custom type's bare public
    // struct meant for an exported finalize; any other custom state has no
    // free function, so it is dropped.
    child.kill_and_reap();
    free_builtin_state(type, type_state);
}

void begin_stop(Member &m, unsigned why, long long now) noexcept
{
    begin_stop(m.child, m.plan, m.stop, m.details.flags, why, now);
}

bool advance_stop(Member &m, long long now) noexcept
{
    return advance_stop(m.child, m.plan, m.stop, m.details.flags, now);
}

Pump pump(Member &m) noexcept
{
    if (m.type.append == nullptr || !m.out)
        return Pump::End;
    // The library's own types are read by the library's own code, never
    // back in through the exported symbols.
    const ssize_t n = m.builtin ? builtin_append(m.type, m.type_state, m.out.get())
                                : m.type.append(&m.type, m.type_state, m.out.get());
    if (n > 0) {
        m.bytes_read += static_cast<std::uint64_t>(n);
        if (m.bytes_read > m.plan.limit) {
            // Past the cap: keep exactly the cap where the type allows it.
            truncate_builtin_state(m.type, m.type_state, m.plan.limit);
            m.limit_hit = true;
            return Pump::End;
        }
        maybe_grow_pipe(m);
        return Pump::Data;
    }
    // A built-in type reads itself, so its EAGAIN is real (a non-blocking
    // descriptor of a hand-built future). A custom type's -1 is its own error,
    // whatever errno it leaves behind.
    if (n < 0 && m.builtin && (errno == EAGAIN || errno == EWOULDBLOCK))
        return Pump::Again;
    return Pump::End;
}

bool pump_err(Member &m) noexcept
{
    Details &d = m.details;
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
        n = room ? ::read(m.err.get(), d.err_data + d.err_size, d.err_capacity - d.err_size)
                 : ::read(m.err.get(), sink, sizeof sink); // out of memory: drain, drop
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        if (room)
            d.err_size += static_cast<std::size_t>(n);
        if (d.err_size > m.plan.limit) {
            d.err_size = m.plan.limit;
            m.limit_hit = true;
            return false;
        }
        return true;
    }
    return n < 0 && errno == EAGAIN;
}

bool feed_in(Member &m) noexcept
{
    const std::string *input = m.input.get();
    while (input != nullptr && m.input_offset < input->size()) {
        const ssize_t n = write_no_sigpipe(m.in.get(), input->data() + m.input_offset, input->size() - m.input_offset);
        if (n > 0) {
            m.input_offset += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true; // full: the child reads on
        break;           // EPIPE: the child no longer reads
    }
    return false;
}

void end_input(Member &m) noexcept
{
    m.in.reset(); // the child sees end of input
    m.input.reset();
}

void end_reading(Member &m) noexcept
{
    if (!m.out)
        return;
    if (m.holds_big_pipe)
        g_grown.fetch_sub(1, std::memory_order_relaxed);
    m.holds_big_pipe = false;
    m.out.reset();
}

void end_streams(Member &m) noexcept
{
    end_reading(m);
    m.err.reset();
    end_input(m);
    if (m.chan)
        m.chan->abandon(ECONNABORTED); // nothing more is read for a caller still holding it
}

} // namespace procreact
