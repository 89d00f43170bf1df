// SPDX-License-Identifier: MIT
//
// Descriptor ownership and fork hygiene.
//
// Every descriptor the library opens is owned by a UniqueFd. Owning it also
// records it in a process-wide table, so that a child forked by anybody
// (the library, the application, another thread) closes the library's
// descriptors right after fork(): a later child never holds an earlier
// future's pipe, and a pipe's read end sees end of stream when its own child
// is done. The table, and every other process-wide registry of the library,
// is guarded by one lock that a pthread_atfork() handler takes across fork(),
// so the child never inherits it locked.
#pragma once

#include <cstddef>

namespace procreact {

/// The number of times this process image has been through the child side
/// of fork() since the library was loaded. A descriptor opened under another
/// generation was closed by the fork handler and must not be closed again.
unsigned long fork_generation() noexcept;

/// The process-wide lock of the library's registries (recursive use is an error).
void global_lock() noexcept;
void global_unlock() noexcept;

/// RAII for global_lock().
class GlobalLock {
public:
    GlobalLock() noexcept { global_lock(); }
    ~GlobalLock() { global_unlock(); }
    GlobalLock(const GlobalLock &) = delete;
    GlobalLock &operator=(const GlobalLock &) = delete;
};

/// Owns one descriptor: closes it on destruction, tracks it for the fork handler.
class UniqueFd {
public:
    UniqueFd() noexcept = default;
    /// Takes ownership of @p fd (which may be -1).
    explicit UniqueFd(int fd) noexcept { reset(fd); }
    ~UniqueFd() { reset(); }

    UniqueFd(UniqueFd &&other) noexcept : fd_(other.fd_), generation_(other.generation_) { other.fd_ = -1; }
    UniqueFd &operator=(UniqueFd &&other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = other.fd_;
            generation_ = other.generation_;
            other.fd_ = -1;
        }
        return *this;
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }

    /// Takes ownership of @p fd that the caller already recorded in the table
    /// while holding the global lock (see make_pipe()).
    struct AlreadyTracked {};
    UniqueFd(int fd, AlreadyTracked) noexcept : fd_(fd), generation_(fork_generation()) {}

    /// Gives up ownership without closing; the descriptor is no longer tracked.
    int release() noexcept;
    /// Closes the current descriptor (if this process image opened it) and owns @p fd.
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
    unsigned long generation_ = 0;
};

/// Moves @p fd above the standard descriptors (0-2) keeping close-on-exec.
/// Returns the new descriptor (the old one is closed) or -1 with errno set.
int move_above_stdio(int fd) noexcept;

/// Creates a close-on-exec pipe with both ends above fd 2, recorded in the
/// table before any other thread can fork, so that no child ever inherits
/// its write end. Returns false with errno set on failure.
bool make_pipe(UniqueFd &read_end, UniqueFd &write_end) noexcept;

/// Names the descriptor that the next fork() on this thread must keep open in
/// its child (the child's own result pipe). -1 keeps none.
void keep_in_next_child(int fd) noexcept;

/// Hook that other registries use to reset themselves in a forked child.
/// Runs with the global lock held, in the child only.
using ChildResetHook = void (*)() noexcept;
void register_child_reset_hook(ChildResetHook hook) noexcept;

} // namespace procreact
