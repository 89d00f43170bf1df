// SPDX-License-Identifier: MIT
#include "fd.hpp"

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

// The write ends in flight. Grown (in the parent, under the lock) with
// realloc so that growing can fail without throwing; never shrunk. The child
// reads and trims it without allocating.
int *g_writers = nullptr;
std::size_t g_writer_count = 0;
std::size_t g_writer_capacity = 0;

constexpr std::size_t kMaxHooks = 8;
ChildResetHook g_hooks[kMaxHooks] = {};
std::size_t g_hook_count = 0;

constexpr std::size_t kMaxParked = 16;
void *volatile g_parked[kMaxParked] = {};

thread_local int t_keep_fd = -1;

// Lists @p fd; the caller holds the lock.
bool list_writer_locked(int fd) noexcept
{
    if (g_writer_count == g_writer_capacity) {
        const std::size_t capacity = g_writer_capacity ? g_writer_capacity * 2 : 32;
        auto *grown = static_cast<int *>(std::realloc(g_writers, capacity * sizeof(int)));
        if (grown == nullptr)
            return false;
        g_writers = grown;
        g_writer_capacity = capacity;
    }
    g_writers[g_writer_count++] = fd;
    return true;
}

// Takes @p fd off the list; the caller holds the lock (or is a forked child).
void unlist_writer_locked(int fd) noexcept
{
    for (std::size_t i = 0; i < g_writer_count; ++i) {
        if (g_writers[i] == fd) {
            g_writers[i] = g_writers[--g_writer_count];
            return;
        }
    }
}

void atfork_prepare() noexcept
{
    pthread_mutex_lock(&g_lock);
}

void atfork_parent() noexcept
{
    pthread_mutex_unlock(&g_lock);
}

void atfork_child() noexcept
{
    // Constant work: only the write ends in flight (one per thread that is
    // between pipe2() and its own fork(), plus stdin feeds), never one per
    // running future.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < g_writer_count; ++i) {
        if (g_writers[i] == t_keep_fd)
            g_writers[kept++] = g_writers[i];
        else
            ::close(g_writers[i]);
    }
    g_writer_count = kept;
    for (std::size_t i = 0; i < g_hook_count; ++i)
        g_hooks[i]();
    // Locked by this thread in atfork_prepare(); the child's copy is consistent.
    pthread_mutex_unlock(&g_lock);
}

__attribute__((constructor)) void install_fork_handlers()
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

} // namespace

void global_lock() noexcept
{
    pthread_mutex_lock(&g_lock);
}
void global_unlock() noexcept
{
    pthread_mutex_unlock(&g_lock);
}

void UniqueFd::reset(int fd) noexcept
{
    if (fd_ >= 0)
        ::close(fd_); // not retried: on Linux the descriptor is gone even on EINTR
    fd_ = fd;
}

void WriteEnd::reset() noexcept
{
    if (fd_ < 0)
        return;
    GlobalLock lock;
    unlist_writer_locked(fd_);
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

bool make_pipe(UniqueFd &read_end, WriteEnd &write_end) noexcept
{
    int fds[2];
    {
        // Under the lock: a concurrent fork() waits in its prepare handler
        // until the write end is listed, so its child closes it.
        GlobalLock lock;
        if (::pipe2(fds, O_CLOEXEC) != 0)
            return false;
        fds[0] = move_above_stdio(fds[0]);
        int err = errno;
        fds[1] = move_above_stdio(fds[1]);
        if (fds[1] < 0)
            err = errno;
        if (fds[0] < 0 || fds[1] < 0 || !list_writer_locked(fds[1])) {
            if (fds[0] >= 0 && fds[1] >= 0)
                err = ENOMEM;
            if (fds[0] >= 0)
                ::close(fds[0]);
            if (fds[1] >= 0)
                ::close(fds[1]);
            errno = err;
            return false;
        }
    }
    read_end.reset(fds[0]);
    write_end.reset();
    write_end.fd_ = fds[1];
    return true;
}

void keep_in_next_child(int fd) noexcept
{
    t_keep_fd = fd;
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
