// SPDX-License-Identifier: MIT
//
// Descriptor ownership, the library's two locks, and fork hygiene.
//
// Every descriptor the library opens is owned by a UniqueFd and is
// close-on-exec from its creation. Read ends, pidfds and epoll, timer and
// event descriptors that a forked child inherits harm nobody (they vanish at
// exec, and a reader's end of stream depends only on write ends). What must
// never reach another child is a pipe's *write end* that the library still
// holds: a child holding it keeps the reader from ever seeing end of stream.
// Such write ends are owned by a WriteEnd, which lists them in a small
// process-wide list for as long as the parent holds them. The fork handler
// closes exactly those in every child, so the work per fork depends on the
// write ends in flight at that moment, never on how many children run.
//
// Two locks:
//  - the table lock (GlobalLock) guards the library's process-wide tables.
//    It is held for table edits only, never across a system call;
//  - the fork lock (ForkGuard, a count kept under the table lock) makes "create or close a
//    write end" and "list or unlist it" one step as far as fork() is
//    concerned: many threads may hold it for reading at once, and fork()
//    takes it for writing in its prepare handler, so it waits only for the
//    pipe2() or close() calls that are in progress at that moment.
// A forked child gets both unlocked, and the registries of the parent are
// dropped there (pointers forgotten, nothing freed: the child may not be
// able to call free()).
#pragma once

#include <cstddef>

namespace procreact
{

/// The table lock (not recursive). Only table edits under it. While the
/// process has one thread nobody else can take it, and it is not taken
/// (glibc skips its own locks so): returns whether it was, for
/// global_unlock(). The fork handlers take it whatever the thread count.
bool global_lock() noexcept;
void global_unlock(bool held) noexcept;

/// RAII for global_lock().
class GlobalLock
{
  public:
    GlobalLock() noexcept : held_(global_lock()) {}
    ~GlobalLock() { global_unlock(held_); }
    GlobalLock(const GlobalLock &) = delete;
    GlobalLock &operator=(const GlobalLock &) = delete;

  private:
    bool held_;
};

/// Waits on the library's condition variable (with the table lock held):
/// for an object that another thread has borrowed out of a table.
void global_wait() noexcept;
/// Wakes every global_wait() (call with the table lock held).
void global_notify() noexcept;

/// Holds off fork() (the fork lock, read side) while a write end is created
/// or closed and listed or unlisted.
class ForkGuard
{
  public:
    ForkGuard() noexcept;
    ~ForkGuard();
    ForkGuard(const ForkGuard &) = delete;
    ForkGuard &operator=(const ForkGuard &) = delete;
};

/// Owns one descriptor and closes it on destruction.
class UniqueFd
{
  public:
    UniqueFd() noexcept = default;
    /// Takes ownership of @p fd (which may be -1).
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd() { reset(); }

    UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
    UniqueFd &operator=(UniqueFd &&other) noexcept
    {
        if (this != &other)
            reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }

    /// Gives up ownership without closing.
    int release() noexcept
    {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    /// Closes the current descriptor and owns @p fd. Inline: most resets
    /// (the destructors of the many that own nothing) close nothing.
    void reset(int fd = -1) noexcept
    {
        if (fd_ >= 0)
            close_fd(fd_);
        fd_ = fd;
    }

  private:
    static void close_fd(int fd) noexcept;

    int fd_ = -1;
};

/// Owns a pipe's write end that no child other than the intended one may
/// inherit: it is on the fork handler's list while owned.
class WriteEnd
{
  public:
    WriteEnd() noexcept = default;
    ~WriteEnd() { reset(); }
    WriteEnd(WriteEnd &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    WriteEnd &operator=(WriteEnd &&other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = other.fd_;
            other.fd_ = -1;
        }
        return *this;
    }
    WriteEnd(const WriteEnd &) = delete;
    WriteEnd &operator=(const WriteEnd &) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }

    /// Closes it and takes it off the list as one step for fork(): a fork()
    /// between the two would either give its child an unlisted write end or
    /// close, in the child, whatever reused the number. Inline when it
    /// owns nothing (most destructors).
    void reset() noexcept
    {
        if (fd_ >= 0)
            close_listed();
    }

    /// In a forked child that owns this end: takes it off the child's list
    /// and gives it up without closing. The list is the child's own copy,
    /// which no other thread touches.
    int release_in_child() noexcept;

    /// Lists @p fd, a write end just created under @p guard (with @p keep,
    /// the next fork() of this thread keeps it in its child). Returns false
    /// (errno ENOMEM, @p fd closed) when the list cannot grow.
    bool adopt(int fd, const ForkGuard &guard, bool keep = false) noexcept;

  private:
    void close_listed() noexcept;

    int fd_ = -1;
};

/// Moves @p fd above the standard descriptors (0-2) keeping close-on-exec.
/// Returns the new descriptor (the old one is closed) or -1 with errno set.
int move_above_stdio(int fd) noexcept;

/// Moves both descriptors of a new pair above fd 2 (see move_above_stdio());
/// on failure both are closed and errno is set.
bool pair_above_stdio(int fds[2]) noexcept;

/// Creates a close-on-exec pipe with both ends above fd 2. The write end is
/// listed before any other thread can fork; with @p keep, the next fork() of
/// this thread keeps it in its child (the child's own result pipe). Returns
/// false with errno set.
bool make_pipe(UniqueFd &read_end, WriteEnd &write_end, bool keep = false) noexcept;

/// Hook that a registry uses to drop the parent's entries in a forked child.
/// Runs in the child only; must not allocate or free.
using ChildResetHook = void (*)() noexcept;
void register_child_reset_hook(ChildResetHook hook) noexcept;

/// Parks a pointer that a forked child drops, so that a leak checker in the
/// child still sees it as reachable.
void park_in_child(void *pointer) noexcept;

} // namespace procreact
