// SPDX-License-Identifier: MIT
//
// Waker and the drive table (future serial -> the waker of its driver).
#include "waker.hpp"

#include <cerrno>
#include <cstdint>
#include <new>

#include <sys/eventfd.h>
#include <unistd.h>

#include "../os/clock.hpp"
#include "../os/flat_table.hpp"
#include "../os/unshared.hpp"

namespace procreact
{
namespace
{

// Under the table lock; a forked child drops it.
// Registered while a child runs: in unshared memory, as are the wakers.
using DriveTable = FlatTable<Serial, WakerRef>;
DriveTable *g_driven = nullptr;

void drop_in_child() noexcept
{
    park_in_child(g_driven);
    g_driven = nullptr;
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

int new_eventfd() noexcept
{
    return move_above_stdio(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

} // namespace

Waker::Waker(bool lazy) noexcept : lazy_(lazy)
{
    if (!lazy)
        fd_.store(new_eventfd(), std::memory_order_release);
}

Waker::~Waker()
{
    UniqueFd closed(fd_.load(std::memory_order_acquire));
}

bool Waker::make_fd() noexcept
{
    if (fd() >= 0)
        return true;
    UniqueFd made(new_eventfd());
    if (!made)
        return false;
    GlobalLock lock; // published where posts look (see the top of waker.hpp)
    fd_.store(made.release(), std::memory_order_release);
    return true;
}

void Waker::post_locked(Serial serial)
{
    inbox_.push_back(serial);
    pending_.store(true, std::memory_order_release);
}

void Waker::post_all() noexcept
{
    all_.store(true, std::memory_order_release);
}

void Waker::ring() const noexcept
{
    const int fd = this->fd();
    if (fd < 0)
        return; // a lazy Waker's driver finds the post in its inbox
    const std::uint64_t one = 1;
    while (::write(fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

std::vector<Serial> Waker::take() noexcept
{
    if (fd() >= 0)
        drain(fd());
    std::vector<Serial> taken;
    GlobalLock lock;
    taken.swap(inbox_);
    pending_.store(false, std::memory_order_release);
    return taken;
}

WakerRef make_waker(bool lazy) noexcept
{
    try {
        auto waker = std::allocate_shared<Waker>(UnsharedAllocator<Waker>(), lazy);
        if (!waker->valid())
            return nullptr;
        return waker;
    } catch (...) {
        errno = ENOMEM;
        return nullptr;
    }
}

void drive_register_locked(Serial serial, const WakerRef &waker)
{
    if (g_driven == nullptr)
        g_driven = new_unshared_table<DriveTable>();
    g_driven->insert(serial) = waker;
}

void drive_unregister(Serial serial) noexcept
{
    WakerRef dropped; // released after unlocking: it may close the eventfd
    GlobalLock lock;
    if (g_driven == nullptr)
        return;
    if (WakerRef *found = g_driven->find(serial)) {
        dropped = std::move(*found);
        g_driven->erase(serial);
    }
}

WakerRef drive_find_locked(Serial serial) noexcept
{
    if (g_driven == nullptr)
        return nullptr;
    const WakerRef *found = g_driven->find(serial);
    return found != nullptr ? *found : nullptr;
}

} // namespace procreact
