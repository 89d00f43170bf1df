// SPDX-License-Identifier: MIT
//
// The launcher threads behind fill_target() (the design is in spawn_threads.hpp).
//
// The threads are started by the first fill that wants them and wait for
// fills until kIdleSeconds pass without one; then they end, and the next
// fill that wants threads joins them and starts new ones. One fill at a
// time uses them: a fill that finds them busy (another thread's collection,
// or a fill from inside `next`) runs on its own thread alone. A fill never
// waits for a launcher thread to come: the calling thread does the work
// itself, and the threads that joined help; it waits only for those to
// leave. At unload (dlclose, exit) the idle threads are woken and joined.
#include "spawn_threads.hpp"

#include "../os/threads.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "../engine/spawn_window.hpp"
#include "../os/fd.hpp"
#include "future_iterators.hpp"

namespace procreact
{
namespace
{

constexpr unsigned int kSlots = kMaxSpawnThreads - 1;

/// One fill: its target and limit, and the gate its threads share.
struct Fill {
    Fill(FillTarget &t, unsigned int lim, unsigned int want) noexcept : target(t), limit(lim), helpers(want) {}

    FillTarget &target;
    unsigned int limit;
    unsigned int helpers;    // launcher threads it wants
    unsigned int joined = 0; // launcher threads that came (under the launchers' lock)
    std::mutex gate;
    unsigned int spawning = 0; // spawns under way, counted against the limit (under gate)
    bool done = false;         // the target has nothing more (under gate)
    sigset_t mask{};           // the calling thread's signal mask
};

/// The launcher threads' meeting point. Never destroyed (a thread in a
/// fill at unload is left to finish it); a forked child gets a new one.
struct Launchers {
    std::mutex lock;
    std::condition_variable wake; // a fill opened, or the library unloads
    std::condition_variable left; // a thread left a fill
    Fill *open = nullptr;         // the fill they may join
    unsigned long generation = 0; // of the open fill: each thread looks at it once
    unsigned int inside = 0;      // threads in the open fill
    unsigned int alive = 0;       // threads in launcher()
    bool closed = false;          // unloading: no thread starts or joins a fill
    std::thread threads[kSlots];  // joinable until joined, also once ended
    bool running[kSlots] = {};    // in launcher()
    bool busy[kSlots] = {};       // in a fill
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

// At dlclose or exit: the idle threads end and are joined, so none is left
// to run the library's code once it is unmapped. A thread in a fill (a
// fill still running on another thread, or exit() called from `next`) is
// left alone: joining it could wait for ever.
__attribute__((destructor)) void stop_launchers()
{
    Launchers *l = g_launchers;
    if (l == nullptr)
        return;
    std::thread ending[kSlots];
    {
        std::lock_guard<std::mutex> hold(l->lock);
        l->closed = true;
        for (unsigned int i = 0; i < kSlots; ++i)
            if (l->threads[i].joinable() && !l->busy[i] && l->threads[i].get_id() != std::this_thread::get_id())
                ending[i] = std::move(l->threads[i]);
    }
    l->wake.notify_all();
    for (auto &t : ending)
        if (t.joinable())
            t.join();
}

// Fills slots until they are full or the target has nothing more.
void work(Fill &fill) noexcept
{
    std::unique_lock<std::mutex> hold(fill.gate);
    std::mutex *const outer = t_spawn_gate;
    t_spawn_gate = &fill.gate;
    while (!fill.done && (fill.limit == 0 || fill.target.running() + fill.spawning < fill.limit)) {
        ++fill.spawning;
        const bool more = fill.target.spawn_one(); // opens the gate around its spawn
        --fill.spawning;
        if (!more)
            fill.done = true;
    }
    t_spawn_gate = outer;
}

void launcher(Launchers *l, unsigned int slot) noexcept
{
    launcher_thread_mark() = true;
    // Between fills the application's signals go to its own threads, never
    // to ours. In a fill the thread takes the calling thread's mask, which a
    // child forked in `next` inherits, as it would on the calling thread.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    pthread_setname_np(pthread_self(), "procreact-spawn"); // as ps and debuggers show it
    unsigned long seen = 0;
    std::unique_lock<std::mutex> hold(l->lock);
    for (;;) {
        const bool woken = l->wake.wait_for(hold, std::chrono::seconds(kIdleSeconds), [&] {
            return l->closed || (l->open != nullptr && l->generation != seen);
        });
        if (!woken || l->closed)
            break; // idle for long enough, or unloading
        seen = l->generation;
        Fill *fill = l->open;
        if (fill->joined >= fill->helpers)
            continue; // enough threads came
        ++fill->joined;
        ++l->inside;
        l->busy[slot] = true;
        hold.unlock();
        pthread_sigmask(SIG_SETMASK, &fill->mask, nullptr);
        work(*fill);
        pthread_sigmask(SIG_SETMASK, &all, nullptr);
        hold.lock();
        l->busy[slot] = false;
        if (--l->inside == 0)
            l->left.notify_all();
    }
    l->running[slot] = false;
    --l->alive;
}

unsigned int from_environment() noexcept
{
    const char *v = std::getenv("PROCREACT_SPAWN_THREADS");
    if (v == nullptr)
        return 0;
    char *end = nullptr;
    const unsigned long n = std::strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n < 1)
        return 0; // not a number: as if unset
    return static_cast<unsigned int>(std::min<unsigned long>(n, kMaxSpawnThreads));
}

unsigned int decide_default() noexcept
{
    cpu_set_t set;
    long cpus = 0;
    if (::sched_getaffinity(0, sizeof set, &set) == 0)
        cpus = CPU_COUNT(&set);
    if (cpus < 1)
        cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    // One CPU: a second thread could only take the CPU from the children.
    // From two, two threads: one spawn holds its thread until the child
    // reaches exec, and with the children's exits watched on the exit ring
    // a second thread's spawns overlap those waits for 1-9 us more parent
    // CPU per program, buying 2-7 % more programs/s even where the CPUs
    // bind (bench/README, "Two spawning threads from two CPUs"). From 8
    // CPUs, where one thread (about 20,000 programs/s) binds for children
    // of about 1 ms, up to four.
    if (cpus < 2)
        return 1;
    return static_cast<unsigned int>(std::max<long>(2, std::min<long>(4, cpus / 4)));
}

bool fill_alone(FillTarget &target, unsigned int limit) noexcept
{
    while (limit == 0 || target.running() < limit)
        if (!target.spawn_one())
            return false;
    return true;
}

// Opens @p fill to the launcher threads, starting those it wants (and
// joining those that ended); false when they are busy or unloading.
bool open_fill(Launchers *l, Fill &fill) noexcept
{
    std::thread ended[kSlots];
    bool opened = false;
    {
        std::lock_guard<std::mutex> hold(l->lock);
        if (l->closed || l->open != nullptr)
            return false; // another fill has them
        for (unsigned int i = 0; i < kSlots; ++i)
            if (!l->running[i] && l->threads[i].joinable())
                ended[i] = std::move(l->threads[i]);
        for (unsigned int i = 0; i < kSlots && l->alive < fill.helpers; ++i) {
            if (l->running[i] || l->threads[i].joinable())
                continue;
            try {
                l->threads[i] = std::thread(launcher, l, i);
            } catch (...) {
                break; // fewer threads: those that started help
            }
            l->running[i] = true;
            ++l->alive;
        }
        if (l->alive > 0) {
            l->open = &fill;
            ++l->generation;
            opened = true;
        }
    }
    for (auto &t : ended)
        if (t.joinable())
            t.join(); // it has left launcher(): this waits for its last instructions
    return opened;
}

// An iterator as a fill's target.
class IteratorTarget final : public FillTarget
{
  public:
    explicit IteratorTarget(ProcReact_FutureIterator *iterator) noexcept : iterator_(iterator) {}
    unsigned int running() const noexcept override { return iterator_->running_processes; }
    bool spawn_one() noexcept override { return spawn_next(iterator_); }

  private:
    ProcReact_FutureIterator *iterator_;
};

} // namespace

unsigned int default_spawn_threads() noexcept
{
    static const unsigned int threads = decide_default();
    return threads;
}

unsigned int spawn_threads_for(unsigned int setting, unsigned int fallback) noexcept
{
    static const unsigned int environment = from_environment();
    if (setting != 0)
        return setting;
    return environment != 0 ? environment : fallback;
}

bool fill_target(FillTarget &target, unsigned int limit, unsigned int threads) noexcept
{
    if (threads <= 1 || t_spawn_gate != nullptr || (limit != 0 && target.running() + 2 > limit))
        return fill_alone(target, limit);
    Launchers *l = g_launchers;
    if (l == nullptr)
        return fill_alone(target, limit);
    Fill fill(target, limit, std::min(threads, kMaxSpawnThreads) - 1);
    pthread_sigmask(SIG_BLOCK, nullptr, &fill.mask);
    if (!open_fill(l, fill))
        return fill_alone(target, limit);
    l->wake.notify_all();
    work(fill);
    std::unique_lock<std::mutex> hold(l->lock);
    l->open = nullptr;
    l->left.wait(hold, [&] { return l->inside == 0; });
    return !fill.done;
}

bool fill_slots(ProcReact_FutureIterator *iterator, unsigned int limit) noexcept
{
    if (iterator == nullptr)
        return false;
    IteratorTarget target(iterator);
    if (iterator->has_next == nullptr || iterator->next == nullptr)
        return fill_alone(target, limit); // nothing to spawn: no thread for it
    Collection *c = find_collection(iterator);
    const bool filled = fill_target(target, limit, spawn_threads_for(c != nullptr ? c->spawn_threads() : 0, 1));
    if ((c = find_collection(iterator)) != nullptr) // the fill may have made it
        c->submit_held_watches(); // the exits that launcher threads left to this one
    return filled;
}

} // namespace procreact
