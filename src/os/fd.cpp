// SPDX-License-Identifier: MIT
//
// Descriptor ownership, the table and fork locks, and the fork handlers.
#include "fd.hpp"
#include "threads.hpp"

#include <cerrno>
#include <cstdlib>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

namespace procreact
{
namespace
{

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;

// The fork lock, kept with the table lock: the number of write ends being
// created or closed right now, and whether a fork() waits for them (new
// ones wait then, so a steady stream of pipes never starves a fork()).
pthread_cond_t g_fork_cond = PTHREAD_COND_INITIALIZER;
unsigned g_in_flight = 0;
bool g_forking = false;

// The write ends in flight, each with the thread whose next fork() keeps it
// (its own result pipe). The first ones live in the library's own data,
// next to the locks: after a fork() the parent touches as few pages as it
// can (every page written while a child still shares it costs a copy).
// Grown (in the parent, under the table lock) with malloc so that growing
// can fail without throwing; never shrunk. The child reads and trims it
// without allocating.
struct Writer {
    int fd;
    bool kept;
    pthread_t keeper;
};
constexpr std::size_t kInlineWriters = 64;
Writer g_inline_writers[kInlineWriters];
Writer *g_writers = g_inline_writers;
std::size_t g_writer_count = 0;
std::size_t g_writer_capacity = kInlineWriters;

constexpr std::size_t kMaxHooks = 8;
ChildResetHook g_hooks[kMaxHooks] = {};
std::size_t g_hook_count = 0;

constexpr std::size_t kMaxParked = 16;
void *volatile g_parked[kMaxParked] = {};

// Lists @p fd (kept by this thread's next fork() with @p keep); the caller
// holds the table lock.
bool list_writer_locked(int fd, bool keep) noexcept
{
    if (g_writer_count == g_writer_capacity) {
        const std::size_t capacity = g_writer_capacity * 2;
        auto *grown = static_cast<Writer *>(std::malloc(capacity * sizeof(Writer)));
        if (grown == nullptr)
            return false;
        for (std::size_t i = 0; i < g_writer_count; ++i)
            grown[i] = g_writers[i];
        if (g_writers != g_inline_writers)
            std::free(g_writers);
        g_writers = grown;
        g_writer_capacity = capacity;
    }
    Writer &w = g_writers[g_writer_count++];
    w.fd = fd;
    w.kept = keep;
    if (keep)
        w.keeper = pthread_self();
    return true;
}

// Takes @p fd off the list; the caller holds the table lock (or is a forked child).
void unlist_writer_locked(int fd) noexcept
{
    for (std::size_t i = 0; i < g_writer_count; ++i) {
        if (g_writers[i].fd == fd) {
            g_writers[i] = g_writers[--g_writer_count];
            return;
        }
    }
}

void atfork_prepare() noexcept
{
    pthread_mutex_lock(&g_lock);
    g_forking = true;
    while (g_in_flight != 0)
        pthread_cond_wait(&g_fork_cond, &g_lock);
}

void atfork_parent() noexcept
{
    g_forking = false;
    pthread_cond_broadcast(&g_fork_cond);
    pthread_mutex_unlock(&g_lock);
}

void atfork_child() noexcept
{
    // Constant work: only the write ends in flight (one per thread that is
    // between pipe2() and its own fork(), plus stdin feeds), never one per
    // running child.
    // pthread_self() names the forking thread in the child as in the parent.
    std::size_t kept = 0;
    const pthread_t self = pthread_self();
    for (std::size_t i = 0; i < g_writer_count; ++i) {
        if (g_writers[i].kept && pthread_equal(g_writers[i].keeper, self))
            g_writers[kept++] = g_writers[i];
        else
            ::close(g_writers[i].fd);
    }
    g_writer_count = kept;
    for (std::size_t i = 0; i < g_hook_count; ++i)
        g_hooks[i]();
    // No other thread exists here: waiters of the parent's condition
    // variables are gone, so the child starts them afresh.
    static const pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
    g_cond = fresh;
    g_fork_cond = fresh;
    g_forking = false;
    g_in_flight = 0;
    // Locked by this thread in atfork_prepare(); the child's copies are consistent.
    pthread_mutex_unlock(&g_lock);
}

__attribute__((constructor)) void install_fork_handlers()
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

} // namespace

bool global_lock() noexcept
{
    if (single_threaded())
        return false;
    pthread_mutex_lock(&g_lock);
    return true;
}

void global_unlock(bool held) noexcept
{
    if (held)
        pthread_mutex_unlock(&g_lock);
}

void global_wait() noexcept
{
    // With one thread, nobody could give back what is waited for.
    if (!single_threaded())
        pthread_cond_wait(&g_cond, &g_lock);
}

void global_notify() noexcept
{
    pthread_cond_broadcast(&g_cond);
}

ForkGuard::ForkGuard() noexcept
{
    GlobalLock lock;
    while (g_forking)
        pthread_cond_wait(&g_fork_cond, &g_lock);
    ++g_in_flight;
}

ForkGuard::~ForkGuard()
{
    GlobalLock lock;
    if (--g_in_flight == 0 && g_forking)
        pthread_cond_broadcast(&g_fork_cond);
}

void UniqueFd::close_fd(int fd) noexcept
{
    ::close(fd); // not retried: on Linux the descriptor is gone even on EINTR
}

void WriteEnd::close_listed() noexcept
{
    ForkGuard guard;
    {
        GlobalLock lock;
        unlist_writer_locked(fd_);
    }
    ::close(fd_);
    fd_ = -1;
}

int WriteEnd::release_in_child() noexcept
{
    const int fd = fd_;
    if (fd >= 0)
        unlist_writer_locked(fd);
    fd_ = -1;
    return fd;
}

bool WriteEnd::adopt(int fd, const ForkGuard &, bool keep) noexcept
{
    reset();
    bool listed;
    {
        GlobalLock lock;
        listed = list_writer_locked(fd, keep);
    }
    if (!listed) {
        ::close(fd);
        errno = ENOMEM;
        return false;
    }
    fd_ = fd;
    return true;
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

bool pair_above_stdio(int fds[2]) noexcept
{
    fds[0] = move_above_stdio(fds[0]);
    const int err = errno;
    fds[1] = move_above_stdio(fds[1]);
    if (fds[0] >= 0 && fds[1] >= 0)
        return true;
    const int e = fds[0] < 0 ? err : errno;
    if (fds[0] >= 0)
        ::close(fds[0]);
    if (fds[1] >= 0)
        ::close(fds[1]);
    errno = e;
    return false;
}

bool make_pipe(UniqueFd &read_end, WriteEnd &write_end, bool keep) noexcept
{
    int fds[2];
    // A concurrent fork() waits in its prepare handler until the write end
    // is listed, so its child closes it.
    ForkGuard guard;
    if (::pipe2(fds, O_CLOEXEC) != 0 || !pair_above_stdio(fds))
        return false;
    if (!write_end.adopt(fds[1], guard, keep)) {
        ::close(fds[0]);
        return false;
    }
    read_end.reset(fds[0]);
    return true;
}

void register_child_reset_hook(ChildResetHook hook) noexcept
{
    GlobalLock lock;
    for (std::size_t i = 0; i < g_hook_count; ++i)
        if (g_hooks[i] == hook)
            return;
    if (g_hook_count < kMaxHooks)
        g_hooks[g_hook_count++] = hook;
}

void park_in_child(void *pointer) noexcept
{
    if (pointer == nullptr)
        return;
    for (auto &slot : g_parked) {
        if (slot == nullptr) {
            slot = pointer;
            return;
        }
    }
}

} // namespace procreact
