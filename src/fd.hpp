// SPDX-License-Identifier: MIT
//
// Descriptor ownership and fork hygiene.
//
// Every descriptor the library opens is owned by a UniqueFd and is
// close-on-exec from its creation. Read ends, pidfds and epoll instances that
// a forked child inherits harm nobody (they vanish at exec, and a reader's end
// of stream depends only on write ends). What must never reach another child
// is a pipe's *write end* that the library still holds: a child holding it
// keeps the reader from ever seeing end of stream. Such write ends are owned
// by a WriteEnd, which records them in a small process-wide list for as long
// as the parent holds them (from pipe2() to the close right after fork() for
// a future; for the whole feed for a child's stdin). The fork handler closes
// exactly those in every child, so the work per fork depends on the write
// ends in flight at that moment, never on how many futures are running.
//
// The process-wide registries of the library share one lock, which a
// pthread_atfork() handler takes across fork() so that no child inherits it
// locked; in the child, the registries of the parent are dropped (pointers
// forgotten, nothing freed: the child may not be able to call free()).
#pragma once

#include <cstddef>

namespace procreact
{

/// The process-wide lock of the library's registries (not recursive).
void global_lock() noexcept;
void global_unlock() noexcept;

/// RAII for global_lock().
class GlobalLock
{
  public:
    GlobalLock() noexcept { global_lock(); }
    ~GlobalLock() { global_unlock(); }
    GlobalLock(const GlobalLock &) = delete;
    GlobalLock &operator=(const GlobalLock &) = delete;
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
    /// Closes the current descriptor and owns @p fd.
    void reset(int fd = -1) noexcept;

  private:
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

    /// Closes it and takes it off the list, both under the lock: a fork()
    /// between the two would either give its child an unlisted write end or
    /// close, in the child, whatever reused the number.
    void reset() noexcept;

    /// In a forked child that owns this end: takes it off the child's list
    /// and gives it up without closing. The list is the child's own copy,
    /// which no other thread touches.
    int release_in_child() noexcept;

  private:
    friend bool make_pipe(UniqueFd &, WriteEnd &) noexcept;
    int fd_ = -1;
};

/// Moves @p fd above the standard descriptors (0-2) keeping close-on-exec.
/// Returns the new descriptor (the old one is closed) or -1 with errno set.
int move_above_stdio(int fd) noexcept;

/// Creates a close-on-exec pipe with both ends above fd 2. The write end is
/// listed before any other thread can fork. Returns false with errno set.
bool make_pipe(UniqueFd &read_end, WriteEnd &write_end) noexcept;

/// Names the write end that the next fork() on this thread keeps in its
/// child (the child's own result pipe). -1 keeps none.
void keep_in_next_child(int fd) noexcept;

/// Hook that a registry uses to drop the parent's entries in a forked child.
/// Runs with the global lock held, in the child only; must not allocate or free.
using ChildResetHook = void (*)() noexcept;
void register_child_reset_hook(ChildResetHook hook) noexcept;

/// Parks a pointer that a forked child drops, so that a leak checker in the
/// child still sees it as reachable.
void park_in_child(void *pointer) noexcept;

} // namespace procreact
