// SPDX-License-Identifier: MIT
//
// Waker and the drive table (future serial -> the waker of its driver).
#include "waker.hpp"

#include <cerrno>
#include <cstdint>
#include <new>
#include <unordered_map>

#include <sys/eventfd.h>
#include <unistd.h>

#include "../os/clock.hpp"
#include "../os/unshared.hpp"

namespace procreact
{
namespace
{

// Under the table lock; a forked child drops it.
// Registered while a child runs: in unshared memory, as are the wakers.
using DriveTable = std::unordered_map<Serial, WakerRef, std::hash<Serial>, std::equal_to<Serial>,
                                      UnsharedAllocator<std::pair<const Serial, WakerRef>>>;
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

} // namespace

Waker::Waker() noexcept : fd_(move_above_stdio(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))) {}

void Waker::post_locked(Serial serial)
{
    inbox_.push_back(serial);
}

void Waker::post_all() noexcept
{
    all_.store(true, std::memory_order_release);
}

void Waker::ring() const noexcept
{
    const std::uint64_t one = 1;
    while (::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR)
        ;
}

std::vector<Serial> Waker::take() noexcept
{
    drain(fd_.get());
    std::vector<Serial> taken;
    GlobalLock lock;
    taken.swap(inbox_);
    return taken;
}

WakerRef make_waker() noexcept
{
    try {
        auto waker = std::allocate_shared<Waker>(UnsharedAllocator<Waker>());
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
    (*g_driven)[serial] = waker;
}

void drive_unregister(Serial serial) noexcept
{
    WakerRef dropped; // released after unlocking: it may close the eventfd
    GlobalLock lock;
    if (g_driven == nullptr)
        return;
    auto it = g_driven->find(serial);
    if (it != g_driven->end()) {
        dropped = std::move(it->second);
        g_driven->erase(it);
    }
}

WakerRef drive_find_locked(Serial serial) noexcept
{
    if (g_driven == nullptr)
        return nullptr;
    auto it = g_driven->find(serial);
    return it == g_driven->end() ? nullptr : it->second;
}

} // namespace procreact
