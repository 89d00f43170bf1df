// SPDX-License-Identifier: MIT
//
// The launcher threads behind fill_slots() (the design is in spawn_threads.hpp).
//
// The threads are started on the first fill that wants them and then wait
// for fills for the rest of the process. One fill at a time uses them: a
// fill that finds them busy (another thread's collection, or a fill from
// inside `next`) runs on its own thread alone. A fill never waits for a
// launcher thread to come: the calling thread does the work itself, and
// the threads that joined help; it waits only for those to leave.
#include "spawn_threads.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "../engine/spawn_window.hpp"
#include "../os/fd.hpp"
#include "future_iterators.hpp"

namespace procreact
{
namespace
{

constexpr unsigned int kMaxThreads = 8;

/// One fill: its iterator and limit, and the gate its threads share.
struct Fill {
    ProcReact_FutureIterator *iterator;
    unsigned int limit;
    std::mutex gate;
    unsigned int spawning = 0; // spawns under way, counted against the limit (under gate)
    bool done = false;         // has_next said no (under gate)
    sigset_t mask;             // the calling thread's signal mask
};

/// The launcher threads' meeting point. Never destroyed (the threads wait
/// on it until the process ends); a forked child gets a new one.
struct Launchers {
    std::mutex lock;
    std::condition_variable wake; // a fill opened
    std::condition_variable left; // a thread left a fill
    Fill *open = nullptr;         // the fill they may join
    unsigned long generation = 0; // of the open fill: each thread joins it once
    unsigned int inside = 0;      // threads in the open fill
    unsigned int started = 0;
};

Launchers *g_launchers = new Launchers();

void drop_in_child() noexcept
{
    // The threads are not in the child; the old state may be locked by one.
    park_in_child(g_launchers);
    g_launchers = new (std::nothrow) Launchers();
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

// Fills slots until they are full or has_next says no.
void work(Fill &fill) noexcept
{
    std::unique_lock<std::mutex> hold(fill.gate);
    std::mutex *const outer = t_spawn_gate;
    t_spawn_gate = &fill.gate;
    while (!fill.done &&
           (fill.limit == 0 || fill.iterator->running_processes + fill.spawning < fill.limit)) {
        ++fill.spawning;
        const bool more = spawn_next(fill.iterator); // opens the gate around its spawn
        --fill.spawning;
        if (!more)
            fill.done = true;
    }
    t_spawn_gate = outer;
}

void launcher(Launchers *l) noexcept
{
    // Between fills the application's signals go to its own threads, never
    // to ours. In a fill the thread takes the calling thread's mask, which a
    // child forked in `next` inherits, as it would on the calling thread.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    unsigned long seen = 0;
    std::unique_lock<std::mutex> hold(l->lock);
    for (;;) {
        l->wake.wait(hold, [&] { return l->open != nullptr && l->generation != seen; });
        seen = l->generation;
        Fill *fill = l->open;
        ++l->inside;
        hold.unlock();
        pthread_sigmask(SIG_SETMASK, &fill->mask, nullptr);
        work(*fill);
        pthread_sigmask(SIG_SETMASK, &all, nullptr);
        hold.lock();
        if (--l->inside == 0)
            l->left.notify_all();
    }
}

unsigned int decide() noexcept
{
    const char *v = std::getenv("PROCREACT_SPAWN_THREADS");
    if (v == nullptr)
        return 1; // off unless asked for: see spawn_threads.hpp, "The contract"
    char *end = nullptr;
    const unsigned long n = std::strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n < 1)
        return 1;
    return static_cast<unsigned int>(std::min<unsigned long>(n, kMaxThreads));
}

bool fill_alone(ProcReact_FutureIterator *iterator, unsigned int limit) noexcept
{
    if (iterator == nullptr)
        return false;
    while (limit == 0 || iterator->running_processes < limit)
        if (!spawn_next(iterator))
            return false;
    return true;
}

} // namespace

unsigned int spawn_threads() noexcept
{
    static const unsigned int threads = decide();
    return threads;
}

bool fill_slots(ProcReact_FutureIterator *iterator, unsigned int limit) noexcept
{
    const unsigned int threads = spawn_threads();
    if (iterator == nullptr || threads <= 1 || t_spawn_gate != nullptr || iterator->has_next == nullptr ||
        iterator->next == nullptr ||
        (limit != 0 && iterator->running_processes + 2 > limit))
        return fill_alone(iterator, limit);
    Launchers *l = g_launchers;
    if (l == nullptr)
        return fill_alone(iterator, limit);
    Fill fill{iterator, limit, {}, 0, false, {}};
    pthread_sigmask(SIG_BLOCK, nullptr, &fill.mask);
    bool opened = false;
    {
        std::lock_guard<std::mutex> hold(l->lock);
        if (l->open == nullptr) { // else another fill has them
            try {
                for (; l->started + 1 < threads; ++l->started)
                    std::thread(launcher, l).detach();
            } catch (...) {
                // Fewer threads: those that started help.
            }
            if (l->started > 0) {
                l->open = &fill;
                ++l->generation;
                opened = true;
            }
        }
    }
    if (!opened)
        return fill_alone(iterator, limit);
    l->wake.notify_all();
    work(fill);
    std::unique_lock<std::mutex> hold(l->lock);
    l->open = nullptr;
    l->left.wait(hold, [&] { return l->inside == 0; });
    return !fill.done;
}

} // namespace procreact
