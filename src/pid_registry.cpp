// SPDX-License-Identifier: MIT
#include "pid_registry.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <unordered_map>
#include <map>
#include <utility>

#include <poll.h>
#include <sys/epoll.h>
#include <time.h>

#include "control.hpp"
#include "procreact_exit.h"
#include "signal.hpp"

namespace procreact
{
namespace
{

// An iterator's value: what a copy of the struct keeps.
struct Key {
    ProcReact_PidIteratorHasNext has_next;
    ProcReact_PidIteratorNext next;
    ProcReact_RetrieveResult retrieve;
    ProcReact_PidIteratorComplete complete;
    void *data;

    bool operator==(const Key &o) const noexcept
    {
        return has_next == o.has_next && next == o.next && retrieve == o.retrieve && complete == o.complete &&
               data == o.data;
    }
};

struct KeyHash {
    std::size_t operator()(const Key &k) const noexcept
    {
        std::size_t h = std::hash<void *>()(k.data);
        const auto mix = [&h](std::uintptr_t v) { h = (h ^ v) * 0x100000001b3ULL + (h >> 17); };
        mix(reinterpret_cast<std::uintptr_t>(k.has_next));
        mix(reinterpret_cast<std::uintptr_t>(k.next));
        mix(reinterpret_cast<std::uintptr_t>(k.retrieve));
        mix(reinterpret_cast<std::uintptr_t>(k.complete));
        return h;
    }
};

Key key_of(const ProcReact_PidIterator *it) noexcept
{
    return Key{it->has_next, it->next, it->retrieve, it->complete, it->data};
}

// A child's stop sequence (for iterators with time and control).
struct ChildStop {
    long long start_ns = 0;
    StopPlan plan;
    StopState state;
    unsigned flags = 0;
    long long timer_due = 0; // its key in Entry::timers (0: none)
};

constexpr std::uint64_t kTimerTag = ~std::uint64_t{0};
constexpr std::uint64_t kWakerTag = ~std::uint64_t{0} - 1;

struct Entry {
    std::unordered_map<pid_t, ChildWatch> children; // running, as far as is known
    std::vector<ExitedChild> exited;                // known to have exited, not yet taken
    UniqueFd epoll;                                 // the running children's pidfds; data = pid
    std::size_t watched = 0;                        // children in the epoll set
    std::size_t unwatched = 0;                      // running children watched by pid alone
    unsigned busy = 0;                              // callers sleeping on this entry
    unsigned long seen_signals = 0;
    long long looked_ns = 0;

    // Time and control: settings, cancellation and the descriptor. An entry
    // that has them is pinned: it lasts until procreact_destroy_pid_iterator().
    bool pinned = false;
    long long timeout_ns = -1;
    int signo = SIGTERM;
    long long grace_ns = kDefaultGraceNs;
    std::unique_ptr<Waker> waker;
    UniqueFd timer;
    long long armed = 0;
    bool cancelling = false;
    std::unordered_map<pid_t, ChildStop> stops;
    std::multimap<long long, pid_t> timers;
};

using Table = std::unordered_map<Key, std::unique_ptr<Entry>, KeyHash>;

// Changed only under the global lock, so the copy a forked child sees is
// consistent; the child drops it (the parent's children are not its own).
Table *g_table = nullptr;
long long g_swept_ns = 0;

void drop_in_child() noexcept
{
    park_in_child(g_table);
    g_table = nullptr;
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 50;
// How often a cheap look must still make the system calls, and how often
// other entries are swept for exited children.
constexpr long long kLookEveryNs = 100LL * 1000 * 1000;
constexpr long long kSweepEveryNs = 100LL * 1000 * 1000;

long long coarse_ns() noexcept
{
    struct timespec now {
    };
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

Entry *entry(const Key &key) noexcept
{
    if (g_table == nullptr)
        return nullptr;
    auto it = g_table->find(key);
    return it == g_table->end() ? nullptr : it->second.get();
}

// A child seen to have exited moves to `exited`: out of the epoll set, its
// pidfd closed (the zombie keeps its pid until reaped). Under the lock; the
// caller reserved room in `exited`.
std::unordered_map<pid_t, ChildWatch>::iterator mark_exited(Entry &e,
                                                            std::unordered_map<pid_t, ChildWatch>::iterator it) noexcept
{
    ChildWatch &watch = it->second;
    if (watch.pidfd() >= 0) {
        ::epoll_ctl(e.epoll.get(), EPOLL_CTL_DEL, watch.pidfd(), nullptr);
        watch.drop_pidfd();
        if (--e.watched == 0 && e.busy == 0 && !e.pinned)
            e.epoll.reset();
    } else {
        --e.unwatched;
    }
    ExitedChild done;
    auto stop = e.stops.find(it->first);
    if (stop != e.stops.end()) {
        done.flags = stop->second.flags;
        done.start_ns = stop->second.start_ns;
        e.stops.erase(stop); // its timer entry goes stale and is skipped
    }
    done.watch = std::move(watch);
    e.exited.push_back(std::move(done));
    return e.children.erase(it);
}

void schedule(Entry &e, pid_t pid, ChildStop &stop) noexcept
{
    const long long due = stop_due(stop.plan, stop.state);
    if (due == stop.timer_due)
        return;
    stop.timer_due = 0;
    if (due == 0)
        return;
    try {
        e.timers.emplace(due, pid); // the old key, if any, goes stale
        stop.timer_due = due;
    } catch (...) {
    }
}

// Cancellation and due stop sequences; re-arms the timer. Under the lock.
void run_control(Entry &e) noexcept
{
    const long long now = monotonic_ns();
    if (e.waker && e.waker->all_requested() && !e.cancelling) {
        e.cancelling = true;
        for (auto &item : e.stops) {
            auto child = e.children.find(item.first);
            if (child == e.children.end())
                continue;
            begin_stop(child->second, item.second.plan, item.second.state, item.second.flags,
                       PROCREACT_EXIT_CANCELLED, now);
            schedule(e, item.first, item.second);
        }
    }
    while (!e.timers.empty() && e.timers.begin()->first <= now) {
        const long long key = e.timers.begin()->first;
        const pid_t pid = e.timers.begin()->second;
        e.timers.erase(e.timers.begin());
        auto stop = e.stops.find(pid);
        auto child = e.children.find(pid);
        if (stop == e.stops.end() || child == e.children.end() || stop->second.timer_due != key)
            continue; // stale
        stop->second.timer_due = 0;
        advance_stop(child->second, stop->second.plan, stop->second.state, stop->second.flags, now);
        schedule(e, pid, stop->second);
    }
    if (!e.timer)
        return;
    long long due = e.timers.empty() ? 0 : e.timers.begin()->first;
    if (e.unwatched != 0) {
        // Children watched by pid alone: the descriptor wakes the loop now and then.
        const long long look = now + 20 * kNsPerMs;
        due = due == 0 ? look : std::min(due, look);
    }
    if (due != e.armed) {
        arm_timer(e.timer.get(), due);
        e.armed = due;
    }
}

// Makes the entry's epoll set, timer and waker. Under the lock.
bool ensure_control(Entry &e) noexcept
{
    e.pinned = true;
    if (!e.epoll)
        e.epoll.reset(move_above_stdio(::epoll_create1(EPOLL_CLOEXEC)));
    if (!e.epoll)
        return false;
    if (!e.timer) {
        UniqueFd timer = make_timer();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kTimerTag;
        if (!timer || ::epoll_ctl(e.epoll.get(), EPOLL_CTL_ADD, timer.get(), &ev) != 0)
            return false;
        e.timer = std::move(timer);
    }
    if (!e.waker) {
        std::unique_ptr<Waker> waker(new (std::nothrow) Waker());
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kWakerTag;
        if (!waker || !waker->valid() || ::epoll_ctl(e.epoll.get(), EPOLL_CTL_ADD, waker->fd(), &ev) != 0)
            return false;
        e.waker = std::move(waker);
    }
    return true;
}

// Finds the entry's children that have exited, without blocking. Under the lock.
void harvest(Entry &e)
{
    e.looked_ns = coarse_ns();
    e.seen_signals = sigchld_count();
    e.exited.reserve(e.exited.size() + e.children.size());
    if (e.epoll && (e.watched != 0 || e.pinned)) {
        epoll_event events[64];
        int n;
        do {
            n = ::epoll_wait(e.epoll.get(), events, 64, 0);
            for (int i = 0; i < n; ++i) {
                if (events[i].data.u64 == kTimerTag) {
                    drain(e.timer.get());
                    e.armed = 0;
                    continue;
                }
                if (events[i].data.u64 == kWakerTag) {
                    e.waker->take_locked();
                    continue;
                }
                auto it = e.children.find(static_cast<pid_t>(events[i].data.u64));
                if (it != e.children.end() && it->second.pidfd() >= 0)
                    mark_exited(e, it);
            }
        } while (n == 64 && e.epoll);
    }
    if (e.pinned)
        run_control(e);
    if (e.unwatched != 0) {
        for (auto it = e.children.begin(); it != e.children.end();) {
            if (it->second.pidfd() < 0 && it->second.has_exited())
                it = mark_exited(e, it);
            else
                ++it;
        }
    }
}

// Takes exited children out of the entry (one, or all). Under the lock.
void take(Entry &e, bool just_one, std::vector<ExitedChild> &taken)
{
    taken.reserve(taken.size() + (just_one ? 1 : e.exited.size()));
    while (!e.exited.empty()) {
        taken.push_back(std::move(e.exited.back()));
        e.exited.pop_back();
        if (just_one)
            break;
    }
}

void erase_if_empty(const Key &key) noexcept
{
    Entry *e = entry(key);
    if (e != nullptr && e->children.empty() && e->exited.empty() && e->busy == 0 && !e->pinned)
        g_table->erase(key);
}

// Now and then: other entries' exited children give their pidfds back, so
// that an iterator nobody calls again does not hold descriptors forever.
// Under the lock.
void sweep_others(const Key &self) noexcept
{
    const long long now = coarse_ns();
    if (g_table == nullptr || now - g_swept_ns < kSweepEveryNs)
        return;
    g_swept_ns = now;
    for (auto &item : *g_table) {
        Entry &e = *item.second;
        if (e.busy != 0 || e.watched == 0 || item.first == self)
            continue;
        try {
            harvest(e);
        } catch (...) {
        }
    }
}

} // namespace

void registry_add(const ProcReact_PidIterator *iterator, ChildWatch &&watch)
{
    const Key key = key_of(iterator);
    GlobalLock lock;
    if (g_table == nullptr)
        g_table = new Table();
    auto &slot = (*g_table)[key];
    if (!slot)
        slot = std::make_unique<Entry>();
    Entry &e = *slot;
    const pid_t pid = watch.pid();
    auto placed = e.children.emplace(pid, std::move(watch));
    ChildWatch &mine = placed.first->second;
    bool watched = false;
    if (mine.pidfd() >= 0) {
        if (!e.epoll)
            e.epoll.reset(move_above_stdio(::epoll_create1(EPOLL_CLOEXEC)));
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = static_cast<std::uint64_t>(pid);
        watched = e.epoll && ::epoll_ctl(e.epoll.get(), EPOLL_CTL_ADD, mine.pidfd(), &ev) == 0;
        if (!watched)
            mine.drop_pidfd(); // unreaped: the pid alone watches it exactly
    }
    if (watched)
        ++e.watched;
    else
        ++e.unwatched;
    if (e.pinned) {
        try {
            ChildStop &stop = e.stops[pid];
            const long long now = monotonic_ns();
            stop.start_ns = now;
            if (e.timeout_ns >= 0)
                stop.plan.deadline_ns = now + std::max(e.timeout_ns, 1LL);
            stop.plan.signo = e.signo;
            stop.plan.grace_ns = e.grace_ns;
            if (e.cancelling)
                begin_stop(mine, stop.plan, stop.state, stop.flags, PROCREACT_EXIT_CANCELLED, now);
            schedule(e, pid, stop);
            run_control(e);
        } catch (...) {
            // Out of memory: the child runs without its deadline.
        }
    }
}

std::size_t registry_count(const ProcReact_PidIterator *iterator) noexcept
{
    GlobalLock lock;
    Entry *e = entry(key_of(iterator));
    return e != nullptr ? e->children.size() + e->exited.size() : 0;
}

void registry_tidy(const ProcReact_PidIterator *iterator) noexcept
{
    reap_leftovers();
    const Key key = key_of(iterator);
    std::vector<ChildWatch> orphans;
    {
        GlobalLock lock;
        sweep_others(key);
        Entry *e = entry(key);
        if (e == nullptr || iterator->running_processes != 0 || e->busy != 0)
            return;
        try {
            orphans.reserve(e->children.size() + e->exited.size());
        } catch (...) {
            return; // kept: a later call tries again
        }
        for (auto &child : e->children)
            orphans.push_back(std::move(child.second));
        for (auto &child : e->exited)
            orphans.push_back(std::move(child.watch));
        if (e->pinned) {
            // Its settings stay; only the abandoned children go.
            for (auto &child : orphans)
                if (child.pidfd() >= 0 && e->epoll)
                    ::epoll_ctl(e->epoll.get(), EPOLL_CTL_DEL, child.pidfd(), nullptr);
            e->children.clear();
            e->exited.clear();
            e->stops.clear();
            e->timers.clear();
            e->watched = e->unwatched = 0;
        } else {
            g_table->erase(key);
        }
    }
    for (auto &child : orphans)
        hand_to_reaper(std::move(child));
}

std::vector<ExitedChild> registry_take_exited(const ProcReact_PidIterator *iterator, bool block)
{
    const Key key = key_of(iterator);
    std::vector<ExitedChild> taken;
    int backoff = kFirstBackoffMs;
    bool slept = false;
    for (;;) {
        int epfd = -1;
        bool polled = false;
        {
            GlobalLock lock;
            Entry *e = entry(key);
            if (slept && e != nullptr)
                --e->busy;
            slept = false;
            if (e == nullptr || (e->children.empty() && e->exited.empty())) {
                erase_if_empty(key);
                return taken;
            }
            // Every exit raises SIGCHLD after the last look's snapshot of the
            // count (taken before it looked), so an unchanged count means
            // nothing to find, whether children are watched by pidfd or pid.
            const bool quiet = !block && !e->pinned && e->exited.empty() && sigchld_counting() &&
                               e->seen_signals == sigchld_count() && coarse_ns() - e->looked_ns < kLookEveryNs;
            if (quiet)
                return taken; // nothing has ended since the last look
            if (e->exited.empty() || e->pinned)
                harvest(*e);
            if (!e->exited.empty() || !block) {
                take(*e, block, taken);
                erase_if_empty(key);
                return taken;
            }
            ++e->busy;
            slept = true;
            epfd = e->epoll.get();
            polled = e->unwatched != 0;
        }
        // Sleep until a pidfd is readable (consumed by harvest() under the
        // lock), or for the back-off when some children can only be polled.
        const int timeout = polled ? backoff : -1;
        if (epfd >= 0) {
            epoll_event ev;
            const int r = wait_retry(timeout, [&](int left) { return ::epoll_wait(epfd, &ev, 1, left); });
            if (r < 0 && errno != EINTR) {
                GlobalLock lock;
                if (Entry *e = entry(key))
                    --e->busy;
                throw std::system_error(errno, std::generic_category());
            }
        } else {
            wait_retry(timeout, [&](int left) { return ::poll(nullptr, 0, left); });
        }
        backoff = std::min(backoff * 2, kMaxBackoffMs);
    }
}

std::vector<ChildWatch> registry_take_all(const ProcReact_PidIterator *iterator, bool forget) noexcept
{
    std::vector<ChildWatch> taken;
    const Key key = key_of(iterator);
    GlobalLock lock;
    Entry *e = entry(key);
    if (e == nullptr)
        return taken;
    try {
        taken.reserve(e->children.size() + e->exited.size());
    } catch (...) {
        return taken;
    }
    for (auto &child : e->children) {
        if (child.second.pidfd() >= 0 && e->epoll)
            ::epoll_ctl(e->epoll.get(), EPOLL_CTL_DEL, child.second.pidfd(), nullptr);
        taken.push_back(std::move(child.second));
    }
    for (auto &child : e->exited)
        taken.push_back(std::move(child.watch));
    e->children.clear();
    e->exited.clear();
    e->stops.clear();
    e->timers.clear();
    e->watched = e->unwatched = 0;
    if (forget || !e->pinned) {
        e->epoll.reset();
        if (e->busy == 0)
            g_table->erase(key);
        else
            e->pinned = false; // the sleeper erases it
    }
    return taken;
}

namespace
{

// The entry of @p iterator, made (and pinned, with its control) if need be.
// Under the lock. Throws std::bad_alloc.
Entry *control_entry(const ProcReact_PidIterator *iterator)
{
    const Key key = key_of(iterator);
    if (g_table == nullptr)
        g_table = new Table();
    auto &slot = (*g_table)[key];
    if (!slot)
        slot = std::make_unique<Entry>();
    if (!ensure_control(*slot))
        throw std::bad_alloc();
    return slot.get();
}

} // namespace

int registry_control(const ProcReact_PidIterator *iterator, ControlOp op, long long ns, int signo) noexcept
{
    GlobalLock lock;
    try {
        Entry *e = control_entry(iterator);
        run_control(*e); // children tracked before: the timer looks at those watched by pid
        switch (op) {
        case ControlOp::Fd:
            return e->epoll.get();
        case ControlOp::Timeout:
            e->timeout_ns = ns;
            return 0;
        case ControlOp::Stop:
            e->signo = signo;
            e->grace_ns = ns;
            return 0;
        case ControlOp::Cancel:
            e->waker->post_all();
            return 0;
        }
    } catch (...) {
        errno = ENOMEM;
    }
    return -1;
}

bool registry_cancelled(const ProcReact_PidIterator *iterator) noexcept
{
    GlobalLock lock;
    Entry *e = entry(key_of(iterator));
    return e != nullptr && e->waker && e->waker->all_requested();
}

} // namespace procreact
