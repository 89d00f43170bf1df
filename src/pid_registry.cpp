// SPDX-License-Identifier: MIT
#include "pid_registry.hpp"

#include <algorithm>
#include <cerrno>
#include <unordered_map>
#include <utility>

#include <poll.h>

namespace procreact {
namespace {

using Table = std::unordered_map<const ProcReact_PidIterator *, std::vector<ChildWatch>>;

// Changed only under the global lock, so the copy a forked child sees is
// consistent and can be emptied there. The watches' descriptors are already
// closed by then and their destructors leave them alone (fork generation).
Table *g_table = nullptr;
std::vector<ChildWatch> *g_orphans = nullptr;

void reset_in_child() noexcept
{
    // Only when there is something to drop: writing an empty table would
    // still copy its pages into every child.
    if (g_table != nullptr && !g_table->empty())
        g_table->clear();
    if (g_orphans != nullptr && !g_orphans->empty())
        g_orphans->clear();
}

__attribute__((constructor)) void install_hook() { register_child_reset_hook(reset_in_child); }

std::vector<ChildWatch> *entry(const ProcReact_PidIterator *iterator) noexcept
{
    if (g_table == nullptr)
        return nullptr;
    auto it = g_table->find(iterator);
    return it == g_table->end() ? nullptr : &it->second;
}

void erase_if_empty(const ProcReact_PidIterator *iterator) noexcept
{
    auto *children = entry(iterator);
    if (children != nullptr && children->empty())
        g_table->erase(iterator);
}

constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 50;

} // namespace

void registry_add(const ProcReact_PidIterator *iterator, ChildWatch &&watch)
{
    GlobalLock lock;
    if (g_table == nullptr)
        g_table = new Table();
    (*g_table)[iterator].push_back(std::move(watch));
}

std::size_t registry_count(const ProcReact_PidIterator *iterator) noexcept
{
    GlobalLock lock;
    auto *children = entry(iterator);
    return children != nullptr ? children->size() : 0;
}

void registry_tidy(const ProcReact_PidIterator *iterator) noexcept
{
    std::vector<ChildWatch> orphans;
    {
        GlobalLock lock;
        auto *children = entry(iterator);
        if (children != nullptr && iterator->running_processes == 0) {
            try {
                if (g_orphans == nullptr)
                    g_orphans = new std::vector<ChildWatch>();
                for (auto &watch : *children)
                    g_orphans->push_back(std::move(watch));
            } catch (...) {
                // Out of memory: they stay with the entry and are dropped
                // below, to be reaped by nobody. Nothing better is possible.
            }
            g_table->erase(iterator);
        }
        if (g_orphans == nullptr || g_orphans->empty())
            return;
        orphans.swap(*g_orphans);
    }
    // Outside the lock: reap what has exited, keep the rest.
    std::vector<ChildWatch> still_running;
    for (auto &watch : orphans) {
        if (watch.reap(nullptr, false) == 0) {
            try {
                still_running.push_back(std::move(watch));
            } catch (...) {
            }
        }
    }
    GlobalLock lock;
    if (g_orphans == nullptr)
        return;
    try {
        for (auto &watch : still_running)
            g_orphans->push_back(std::move(watch));
    } catch (...) {
    }
}

std::vector<ChildWatch> registry_take_exited(const ProcReact_PidIterator *iterator, bool block)
{
    std::vector<ChildWatch> taken;
    int backoff = kFirstBackoffMs;
    for (;;) {
        // Snapshot the descriptors: only this iterator's thread changes its
        // entry, so they stay open while we poll them outside the lock.
        std::vector<pollfd> fds;
        std::vector<pid_t> polled_pids;
        bool unwatchable = false;
        {
            GlobalLock lock;
            auto *children = entry(iterator);
            if (children == nullptr || children->empty())
                return taken;
            fds.reserve(children->size());
            for (auto &watch : *children) {
                if (watch.pidfd() >= 0) {
                    pollfd p{};
                    p.fd = watch.pidfd();
                    p.events = POLLIN;
                    fds.push_back(p);
                    polled_pids.push_back(watch.pid());
                } else {
                    unwatchable = true;
                }
            }
        }
        const int timeout = !block ? 0 : (unwatchable ? backoff : -1);
        wait_retry(timeout, [&](int left) { return ::poll(fds.data(), fds.size(), left); });

        std::vector<pid_t> exited;
        for (std::size_t i = 0; i < fds.size(); ++i)
            if (fds[i].revents != 0)
                exited.push_back(polled_pids[i]);
        {
            GlobalLock lock;
            auto *children = entry(iterator);
            if (children == nullptr)
                return taken;
            for (std::size_t i = 0; i < children->size();) {
                ChildWatch &watch = (*children)[i];
                const bool done = watch.pidfd() >= 0
                                      ? std::find(exited.begin(), exited.end(), watch.pid()) != exited.end()
                                      : watch.has_exited();
                if (done) {
                    taken.push_back(std::move(watch));
                    children->erase(children->begin() + static_cast<std::ptrdiff_t>(i));
                    if (block)
                        break;
                } else {
                    ++i;
                }
            }
            erase_if_empty(iterator);
        }
        if (!taken.empty() || !block)
            return taken;
        backoff = std::min(backoff * 2, kMaxBackoffMs);
    }
}

std::vector<ChildWatch> registry_take_all(const ProcReact_PidIterator *iterator) noexcept
{
    std::vector<ChildWatch> taken;
    GlobalLock lock;
    auto *children = entry(iterator);
    if (children != nullptr) {
        taken.swap(*children);
        g_table->erase(iterator);
    }
    return taken;
}

} // namespace procreact
