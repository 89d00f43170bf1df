// SPDX-License-Identifier: MIT
//
// Waker: how another thread reaches whoever drives a collection.
//
// A cancellation may come from any thread. A collection's Waker is an
// eventfd in the collection's watch set plus an inbox of serials. The
// cancelling thread, under the table lock, finds the Waker (through the
// drive table for a single future, through its collection's table entry for
// a whole collection), posts to its inbox and takes a reference to it; then,
// after unlocking, it rings the eventfd. The reference keeps the descriptor
// open even if the collection ends meanwhile: no system call runs under the
// lock, and none reaches a descriptor that is no longer the Waker's.
//
// A lazy Waker (a blocking get's, in a process that has one thread) makes
// its eventfd only when a second thread appears: until then nobody but the
// driver itself can post, and the driver looks at its inbox before it waits.
// The descriptor is published under the table lock, where the inbox is
// looked at: a post either finds it to ring or is found in the inbox.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "../os/fd.hpp"
#include "tokens.hpp"

namespace procreact
{

class Waker
{
  public:
    /// With @p lazy, no eventfd until make_fd().
    explicit Waker(bool lazy = false) noexcept;
    ~Waker();
    Waker(const Waker &) = delete;
    Waker &operator=(const Waker &) = delete;

    bool valid() const noexcept { return lazy_ || fd() >= 0; }
    /// The eventfd, or -1 (a lazy Waker before make_fd()).
    int fd() const noexcept { return fd_.load(std::memory_order_acquire); }
    /// A lazy Waker's eventfd, made now. Returns false (errno set) when it
    /// cannot be made. The driver only.
    bool make_fd() noexcept;
    /// Whether anything was posted and not yet taken (the driver looks
    /// before it waits, which is all a lazy Waker without a descriptor has).
    bool pending() const noexcept
    {
        return pending_.load(std::memory_order_acquire) || all_requested();
    }

    /// Whether single cancellations were posted and not yet taken.
    bool has_posts() const noexcept { return pending_.load(std::memory_order_acquire); }

    /// Posts a cancellation of @p serial. Under the table lock; throws
    /// std::bad_alloc (nothing posted then).
    void post_locked(Serial serial);
    /// Asks for the whole collection to be cancelled (any thread, any lock).
    void post_all() noexcept;
    /// Wakes the driver. Never with the table lock held.
    void ring() const noexcept;

    /// Whether the whole collection is to be cancelled.
    bool all_requested() const noexcept { return all_.load(std::memory_order_acquire); }

    /// The driver: drains the eventfd and takes the posted serials. Throws
    /// std::bad_alloc only when the inbox cannot be handed over (never: it is
    /// swapped).
    std::vector<Serial> take() noexcept;

  private:
    std::atomic<int> fd_{-1}; // owned: closed by the destructor
    bool lazy_;
    std::vector<Serial> inbox_; // under the table lock
    std::atomic<bool> pending_{false};
    std::atomic<bool> all_{false};
};

using WakerRef = std::shared_ptr<Waker>;

/// A new Waker, or null (errno set) when no eventfd can be made. With
/// @p lazy, one whose eventfd is made later (see the top of this file).
WakerRef make_waker(bool lazy = false) noexcept;

/// Registers the future @p serial as driven through @p waker. Under the
/// table lock; throws std::bad_alloc.
void drive_register_locked(Serial serial, const WakerRef &waker);
/// Forgets it (takes the table lock).
void drive_unregister(Serial serial) noexcept;
/// The waker driving @p serial, or null; under the table lock.
WakerRef drive_find_locked(Serial serial) noexcept;

} // namespace procreact
