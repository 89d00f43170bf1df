// SPDX-License-Identifier: MIT
#include "fd.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

namespace procreact {
namespace {

// Everything the fork handlers and the descriptor table write lives in one
// small, aligned block, so that the parent's writes right after fork() (while
// its pages are shared copy-on-write with the child) touch a single page.
// Constant-initialised so that it is usable from any static constructor.
constexpr std::size_t kSmallWords = 16; // descriptors 0..1023 need no allocation

struct alignas(256) Globals {
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    std::atomic<unsigned long> generation{0};
    std::uint64_t small_bits[kSmallWords] = {};
    // Descriptors from 1024 on: grown under the lock with realloc (so that
    // growing can fail without throwing), never shrunk.
    std::uint64_t *big_bits = nullptr;
    std::size_t big_words = 0;
};
Globals g;

constexpr std::size_t kMaxHooks = 4;
ChildResetHook g_hooks[kMaxHooks] = {};
std::size_t g_hook_count = 0;

thread_local int t_keep_fd = -1;

std::size_t word_count() noexcept { return kSmallWords + g.big_words; }

std::uint64_t &word_at(std::size_t word) noexcept
{
    return word < kSmallWords ? g.small_bits[word] : g.big_bits[word - kSmallWords];
}

// Records @p fd; the caller holds the lock.
void track_locked(int fd) noexcept
{
    if (fd < 0)
        return;
    const std::size_t word = static_cast<std::size_t>(fd) / 64;
    if (word >= word_count()) {
        std::size_t words = g.big_words ? g.big_words : 16;
        while (kSmallWords + words <= word)
            words *= 2;
        auto *bits = static_cast<std::uint64_t *>(std::realloc(g.big_bits, words * sizeof(std::uint64_t)));
        if (bits == nullptr)
            return; // untracked: still close-on-exec, only not closed by the fork handler
        std::memset(bits + g.big_words, 0, (words - g.big_words) * sizeof(std::uint64_t));
        g.big_bits = bits;
        g.big_words = words;
    }
    word_at(word) |= std::uint64_t{1} << (fd % 64);
}

void track(int fd) noexcept
{
    if (fd < 0)
        return;
    GlobalLock lock;
    track_locked(fd);
}

// Forgets @p fd; the caller holds the lock.
void untrack_locked(int fd) noexcept
{
    const std::size_t word = static_cast<std::size_t>(fd) / 64;
    if (word < word_count())
        word_at(word) &= ~(std::uint64_t{1} << (fd % 64));
}

void untrack(int fd) noexcept
{
    if (fd < 0)
        return;
    GlobalLock lock;
    untrack_locked(fd);
}

void atfork_prepare() noexcept { pthread_mutex_lock(&g.lock); }

void atfork_parent() noexcept { pthread_mutex_unlock(&g.lock); }

void atfork_child() noexcept
{
    g.generation.fetch_add(1, std::memory_order_relaxed);
    const std::size_t words = word_count();
    for (std::size_t word = 0; word < words; ++word) {
        std::uint64_t &slot = word_at(word);
        std::uint64_t bits = slot;
        if (bits == 0)
            continue; // written only where needed: each written page is copied
        while (bits != 0) {
            const int bit = __builtin_ctzll(bits);
            bits &= bits - 1;
            const int fd = static_cast<int>(word * 64 + static_cast<std::size_t>(bit));
            if (fd != t_keep_fd)
                ::close(fd);
        }
        slot = 0;
    }
    for (std::size_t i = 0; i < g_hook_count; ++i)
        g_hooks[i]();
    // The mutex was locked by this thread in atfork_prepare(); the child's
    // copy is consistent and can be unlocked.
    pthread_mutex_unlock(&g.lock);
}

__attribute__((constructor)) void install_fork_handlers()
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

} // namespace

unsigned long fork_generation() noexcept { return g.generation.load(std::memory_order_relaxed); }

void global_lock() noexcept { pthread_mutex_lock(&g.lock); }
void global_unlock() noexcept { pthread_mutex_unlock(&g.lock); }

int UniqueFd::release() noexcept
{
    const int fd = fd_;
    if (fd >= 0 && generation_ == fork_generation())
        untrack(fd);
    fd_ = -1;
    return fd;
}

void UniqueFd::reset(int fd) noexcept
{
    if (fd_ >= 0 && generation_ == fork_generation()) {
        // Both under the lock: a fork() between forgetting and closing would
        // give its child a descriptor it does not know to close (a pipe's
        // write end, keeping a read from ever ending), and one between
        // closing and forgetting would close whatever reused the number.
        GlobalLock lock;
        untrack_locked(fd_);
        ::close(fd_); // not retried: on Linux the descriptor is gone even on EINTR
    }
    fd_ = fd;
    generation_ = fork_generation();
    track(fd);
}

int move_above_stdio(int fd) noexcept
{
    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return moved;
}

bool make_pipe(UniqueFd &read_end, UniqueFd &write_end) noexcept
{
    int fds[2];
    {
        // Under the lock: a concurrent fork() waits in its prepare handler
        // until both ends are in the table, so its child closes them.
        GlobalLock lock;
        if (::pipe2(fds, O_CLOEXEC) != 0)
            return false;
        fds[0] = move_above_stdio(fds[0]);
        const int saved = errno;
        fds[1] = move_above_stdio(fds[1]);
        if (fds[0] < 0 || fds[1] < 0) {
            const int err = fds[0] < 0 ? saved : errno;
            if (fds[0] >= 0)
                ::close(fds[0]);
            if (fds[1] >= 0)
                ::close(fds[1]);
            errno = err;
            return false;
        }
        track_locked(fds[0]);
        track_locked(fds[1]);
    }
    read_end = UniqueFd(fds[0], UniqueFd::AlreadyTracked{});
    write_end = UniqueFd(fds[1], UniqueFd::AlreadyTracked{});
    return true;
}

void keep_in_next_child(int fd) noexcept { t_keep_fd = fd; }

void register_child_reset_hook(ChildResetHook hook) noexcept
{
    GlobalLock lock;
    for (std::size_t i = 0; i < g_hook_count; ++i)
        if (g_hooks[i] == hook)
            return;
    if (g_hook_count < kMaxHooks)
        g_hooks[g_hook_count++] = hook;
}

} // namespace procreact
