// SPDX-License-Identifier: MIT
//
// The table of pid iterators' pools, keyed by the iterator's value, and
// lending a pool to the thread that works on it.
#include "pid_pools.hpp"
#include "engine/room.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <unordered_map>

#include "../engine/boundary.hpp"
#include "../os/sigchld.hpp"

namespace procreact
{

struct PoolLease::Key {
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

namespace
{

using Key = PoolLease::Key;

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

struct Slot {
    std::unique_ptr<Pool> pool; // null while lent
    bool lent = false;
    PoolSettings settings;
    WakerRef pool_waker; // the pool's collection's, once made
    std::vector<WakerRef> runs;
    std::size_t children = 0; // running + done, as of the last lease
    std::size_t done = 0;
    unsigned long seen_signals = 0;
    long long looked_ns = 0;
};

using Table = std::unordered_map<Key, Slot, KeyHash>;

// Changed only under the table lock; a forked child drops it (the parent's
// children are not its own).
Table *g_table = nullptr;
long long g_swept_ns = 0;
constexpr long long kLookEveryNs = 100 * kNsPerMs;
constexpr long long kSweepEveryNs = 100 * kNsPerMs;

void drop_in_child() noexcept
{
    park_in_child(g_table);
    g_table = nullptr;
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

// The slot of @p key (made if @p create); under the table lock. Throws
// std::bad_alloc only with @p create.
Slot *find_slot(const Key &key, bool create)
{
    if (g_table == nullptr) {
        if (!create)
            return nullptr;
        g_table = new Table();
    }
    if (!create) {
        auto it = g_table->find(key);
        return it == g_table->end() ? nullptr : &it->second;
    }
    return &(*g_table)[key];
}

bool pool_empty(const Pool *pool) noexcept
{
    return pool == nullptr || ((!pool->running || pool->running->size() == 0) && pool->done.empty());
}

} // namespace

// The done members keep no pidfd (a zombie keeps its pid).
ProcReact_Status collect_exited(Pool &pool, bool block, MemberList &failed) noexcept
{
    if (!pool.running || pool.running->size() == 0)
        return PROCREACT_STATUS_OK;
    MemberList done;
    const ProcReact_Status status = pool.running->step_or_fail(done, failed, block);
    for (auto &m : done) {
        m->child.drop_pidfd();
        try {
            pool.done.push_back(std::move(m));
        } catch (...) {
            // Out of memory: reported as failed rather than lost.
            if (m)
                guard_void([&] { failed.push_back(std::move(m)); });
        }
    }
    return status;
}

void Pool::take_done(MemberList &out, std::size_t most) noexcept
{
    try {
        make_room(out, std::min(most, done.size()));
    } catch (...) {
        return; // out of memory: they stay done, for a later call
    }
    while (most-- > 0 && !done.empty()) {
        out.push_back(std::move(done.front()));
        done.pop_front();
    }
}

bool PoolLease::empty() const noexcept
{
    return pool_empty(pool_.get());
}

PoolLease::PoolLease(const ProcReact_PidIterator *iterator, bool create, bool wait) noexcept
{
    try {
        key_.reset(new Key(key_of(iterator)));
        GlobalLock lock;
        for (;;) {
            Slot *slot = find_slot(*key_, create);
            if (slot == nullptr)
                return;
            if (slot->lent) {
                if (!wait)
                    return;
                global_wait(); // another thread works on it for a moment
                continue;
            }
            if (!slot->pool)
                slot->pool.reset(new Pool());
            pool_ = std::move(slot->pool);
            slot->lent = true;
            settings_ = slot->settings;
            return;
        }
    } catch (...) {
        errno = ENOMEM;
    }
}

PoolLease::~PoolLease()
{
    if (!pool_)
        return;
    // A pool with no child running holds no descriptor: an iterator that
    // nobody calls again must not keep any.
    const bool drop_collection = pool_->running && pool_->running->size() == 0 && !settings_.pinned;
    if (drop_collection)
        pool_->running.reset();
    std::unique_ptr<Pool> gone; // destroyed after unlocking: closing is a system call
    std::vector<WakerRef> released;
    GlobalLock lock;
    Slot *slot = find_slot(*key_, false);
    if (slot == nullptr) {
        gone = std::move(pool_);
    } else {
        slot->lent = false;
        if (drop_collection)
            released.push_back(std::move(slot->pool_waker));
        slot->done = pool_->done.size();
        slot->children = slot->done + (pool_->running ? pool_->running->size() : 0);
        if (pool_empty(pool_.get()) && !slot->settings.pinned && slot->runs.empty()) {
            gone = std::move(pool_);
            released.push_back(std::move(slot->pool_waker));
            g_table->erase(*key_);
        } else {
            slot->pool = std::move(pool_);
        }
    }
    global_notify();
}

Collection *PoolLease::running() noexcept
{
    if (!pool_)
        return nullptr;
    if (!pool_->running) {
        try {
            pool_->running.reset(new Collection());
        } catch (...) {
            errno = ENOMEM;
            return nullptr;
        }
        GlobalLock lock;
        if (Slot *slot = find_slot(*key_, false))
            slot->pool_waker = pool_->running->waker();
    }
    pool_->running->defaults() = settings_.defaults;
    if (settings_.cancelled)
        pool_->running->waker()->post_all();
    return pool_->running.get();
}

bool edit_settings(const ProcReact_PidIterator *iterator, void (*edit)(PoolSettings &, void *), void *arg) noexcept
{
    try {
        const Key key = key_of(iterator);
        GlobalLock lock;
        Slot *slot = find_slot(key, true);
        slot->settings.pinned = true;
        edit(slot->settings, arg);
        return true;
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
}

PoolSettings read_settings(const ProcReact_PidIterator *iterator) noexcept
{
    const Key key = key_of(iterator);
    GlobalLock lock;
    Slot *slot = find_slot(key, false);
    return slot != nullptr ? slot->settings : PoolSettings();
}

int cancel_value(const ProcReact_PidIterator *iterator) noexcept
{
    std::vector<WakerRef> wakers;
    try {
        const Key key = key_of(iterator);
        GlobalLock lock;
        Slot *slot = find_slot(key, true);
        slot->settings.pinned = true;
        slot->settings.cancelled = true;
        wakers = slot->runs;
        if (slot->pool_waker)
            wakers.push_back(slot->pool_waker);
        for (auto &w : wakers)
            w->post_all();
    } catch (...) {
        errno = ENOMEM;
        return -1;
    }
    for (auto &w : wakers)
        w->ring();
    return 0;
}

bool register_run(const ProcReact_PidIterator *iterator, const WakerRef &waker) noexcept
{
    try {
        const Key key = key_of(iterator);
        GlobalLock lock;
        find_slot(key, true)->runs.push_back(waker);
        return true;
    } catch (...) {
        return false;
    }
}

void unregister_run(const ProcReact_PidIterator *iterator, const WakerRef &waker) noexcept
{
    const Key key = key_of(iterator);
    WakerRef released; // dropped after unlocking
    GlobalLock lock;
    Slot *slot = find_slot(key, false);
    if (slot == nullptr)
        return;
    auto it = std::find(slot->runs.begin(), slot->runs.end(), waker);
    if (it != slot->runs.end()) {
        released = std::move(*it);
        slot->runs.erase(it);
    }
    if (slot->runs.empty() && !slot->lent && !slot->settings.pinned && pool_empty(slot->pool.get()) &&
        !slot->pool_waker)
        g_table->erase(key);
}

void destroy_pool(const ProcReact_PidIterator *iterator) noexcept
{
    const Key key = key_of(iterator);
    std::unique_ptr<Pool> gone;
    WakerRef waker;
    GlobalLock lock;
    for (;;) {
        Slot *slot = find_slot(key, false);
        if (slot == nullptr)
            return;
        if (slot->lent) {
            global_wait();
            continue;
        }
        gone = std::move(slot->pool);
        waker = std::move(slot->pool_waker);
        if (slot->runs.empty()) {
            g_table->erase(key);
        } else {
            slot->settings = PoolSettings(); // the runs keep their slot
            slot->children = slot->done = 0;
        }
        break;
    }
    // The lock is released before `gone` is destroyed (declared earlier).
}

bool pool_quiet(const ProcReact_PidIterator *iterator) noexcept
{
    if (!sigchld_counting())
        return false;
    const Key key = key_of(iterator);
    GlobalLock lock;
    Slot *slot = find_slot(key, false);
    if (slot == nullptr)
        return true; // nothing was spawned by hand: nothing to complete
    return !slot->lent && !slot->settings.pinned && slot->done == 0 && slot->seen_signals == sigchld_count() &&
           coarse_ns() - slot->looked_ns < kLookEveryNs;
}

void pool_looked(const ProcReact_PidIterator *iterator) noexcept
{
    const Key key = key_of(iterator);
    GlobalLock lock;
    if (Slot *slot = find_slot(key, false)) {
        slot->looked_ns = coarse_ns();
        slot->seen_signals = sigchld_count();
    }
}

void sweep_pools(const ProcReact_PidIterator *self) noexcept
{
    std::vector<ProcReact_PidIterator> others;
    try {
        const long long now = coarse_ns();
        const Key mine = key_of(self);
        GlobalLock lock;
        if (g_table == nullptr || now - g_swept_ns < kSweepEveryNs)
            return;
        g_swept_ns = now;
        for (auto &item : *g_table) {
            if (item.first == mine || item.second.lent || item.second.children == item.second.done)
                continue;
            const Key &k = item.first;
            others.push_back(ProcReact_PidIterator{k.has_next, k.next, k.retrieve, k.complete, k.data, 0});
        }
    } catch (...) {
        return;
    }
    for (const auto &other : others) {
        PoolLease lease(&other, false, false);
        Pool *pool = lease.get();
        if (pool == nullptr || !pool->running)
            continue;
        // Only looks: nothing of another iterator is completed or failed here.
        guard_void([&] {
            pool->running->step(false);
            while (std::unique_ptr<Member> m = pool->running->pop_done()) {
                m->child.drop_pidfd();
                pool->done.push_back(std::move(m));
            }
        });
    }
}

} // namespace procreact
