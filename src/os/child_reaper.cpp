// SPDX-License-Identifier: MIT
//
// The reaper: children that nobody will wait for any more, reaped once
// they have ended, without blocking and without telling anybody.
#include "child_watch.hpp"

#include <atomic>
#include <vector>

#include "fd.hpp"

namespace procreact
{
namespace
{

// Children handed to the reaper. Changed under the global lock; a forked
// child drops the parent's list.
std::vector<ChildWatch> *g_leftovers = nullptr;
std::atomic<bool> g_have_leftovers{false};

void drop_in_child() noexcept
{
    park_in_child(g_leftovers);
    g_leftovers = nullptr;
    g_have_leftovers.store(false, std::memory_order_relaxed);
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

} // namespace

void hand_to_reaper(ChildWatch &&child) noexcept
{
    if (!child.owns())
        return;
    // An unreaped child keeps its pid: the pid alone watches it exactly,
    // and the reaper holds no descriptor.
    child.drop_pidfd();
    {
        GlobalLock lock;
        try {
            if (g_leftovers == nullptr)
                g_leftovers = new std::vector<ChildWatch>();
            g_leftovers->push_back(std::move(child));
            g_have_leftovers.store(true, std::memory_order_relaxed);
            return;
        } catch (...) {
        }
    }
    child.release(); // out of memory: left to whoever waits for it
}

void reap_leftovers() noexcept
{
    if (!g_have_leftovers.load(std::memory_order_relaxed))
        return;
    std::vector<ChildWatch> mine;
    {
        GlobalLock lock;
        if (g_leftovers == nullptr)
            return;
        mine.swap(*g_leftovers);
        g_have_leftovers.store(false, std::memory_order_relaxed);
    }
    for (auto &child : mine)
        if (child.reap(nullptr, false) == 0)
            hand_to_reaper(std::move(child)); // still running
}

} // namespace procreact
