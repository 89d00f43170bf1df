// SPDX-License-Identifier: MIT
//
// Driving a pool from any thread: the stepping role, and shutdown.
//
// One thread at a time holds the role: it steps the collection with the
// core's mutex released (so a submit or a cancel from another thread only
// edits the core and rings the Waker), then takes the mutex again to do the
// bookkeeping. Others who wait for a task wait on the core's condition
// variable meanwhile and take the role over when it is free.
#include <cerrno>
#include <chrono>

#include "pool.hpp"

namespace procreact
{
namespace
{

std::chrono::steady_clock::time_point to_steady(long long ns) noexcept
{
    // steady_clock is CLOCK_MONOTONIC, as monotonic_ns().
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}

bool all_settled(void *arg) noexcept
{
    const PoolCore &core = *static_cast<PoolCore *>(arg);
    return (core.queue.empty() || core.error != 0) && outstanding(core) == 0;
}

bool no_workers(void *arg) noexcept
{
    return static_cast<PoolCore *>(arg)->workers.empty();
}

void cancel_queued(PoolCore &core) noexcept
{
    while (ProcReact_Task *t = core.queue.pop_front()) {
        t->in_queue = false;
        complete_task(core, t, PROCREACT_TASK_CANCELLED);
    }
}

} // namespace

void hold_engine(PoolCore &core, std::unique_lock<std::mutex> &lock) noexcept
{
    ++core.engine_wanted;
    while (core.stepping) {
        WakerRef waker = core.coll ? core.coll->waker() : nullptr;
        lock.unlock();
        if (waker)
            waker->ring();
        lock.lock();
        if (core.stepping)
            core.cv.wait(lock);
    }
    core.stepping = true;
    --core.engine_wanted;
}

void release_engine(PoolCore &core) noexcept
{
    core.stepping = false;
    core.cv.notify_all();
}

void wake_stepper(PoolCore &core, CoreLock &lock) noexcept
{
    WakerRef waker = core.stepping && core.coll ? core.coll->waker() : nullptr;
    if (!waker)
        return;
    lock.unlock();
    waker->ring();
    lock.lock();
}

int drive(PoolCore &core, std::unique_lock<std::mutex> &lock, long long deadline_ns, bool (*done)(void *),
          void *arg) noexcept
{
    const std::uint64_t before = core.completions;
    for (;;) {
        if (done != nullptr && done(arg))
            break;
        if (core.stepping || core.engine_wanted != 0) { // another thread drives, or wants the engine
            if (deadline_ns == -1)
                break;
            if (deadline_ns > 0) {
                if (core.cv.wait_until(lock, to_steady(deadline_ns)) == std::cv_status::timeout)
                    break;
            } else {
                core.cv.wait(lock);
            }
            continue;
        }
        if (!core.coll)
            break; // freed
        core.stepping = true;
        service(core, lock);
        const long long now = monotonic_ns();
        const bool block = deadline_ns == 0 || deadline_ns > now;
        long long wake = deadline_ns > 0 ? deadline_ns : 0;
        if (core.respawn_due > now && (wake == 0 || core.respawn_due < wake))
            wake = core.respawn_due;
        Collection &coll = *core.coll;
        coll.set_wake_at(wake);
        lock.unlock();
        int error = 0;
        try {
            coll.step(block && deadline_ns != -1);
        } catch (const RunFailure &) {
            error = EIO;
        } catch (...) {
            error = ENOMEM;
        }
        lock.lock();
        process_events(core, lock);
        service(core, lock);
        // A main loop sleeping on the pool's descriptor wakes for a back-off
        // that this step began (and not for this step's own timeout).
        coll.set_wake_at(core.respawn_due > monotonic_ns() ? core.respawn_due : 0);
        release_engine(core);
        if (error != 0) {
            errno = error;
            return -1;
        }
        if (deadline_ns == -1 || (deadline_ns > 0 && monotonic_ns() >= deadline_ns))
            break;
    }
    return static_cast<int>(core.completions - before);
}

int shutdown_pool(PoolCore &core, bool drain, double timeout_seconds) noexcept
{
    long long timeout_ns = 0;
    if (timeout_seconds < 0)
        timeout_ns = -1;
    else if (!seconds_to_ns(timeout_seconds, &timeout_ns)) {
        errno = EINVAL;
        return -1;
    }
    std::unique_lock<std::mutex> lock(core.mu);
    if (!core.coll)
        return 0;
    core.shut = true;
    core.draining = drain;
    if (!drain) {
        cancel_queued(core);
        wake_stepper(core, lock); // a thread stepping for a task just cancelled returns
    }
    if (timeout_ns != 0)
        drive(core, lock, timeout_ns < 0 ? 0 : add_saturating(monotonic_ns(), timeout_ns), all_settled, &core);

    // Every worker goes: a busy one is stopped, an idle one reads the end of its requests.
    // Tasks a drain left queued at its bound did not finish on their own either.
    bool stopped = drain && !core.queue.empty();
    core.closing = true;
    cancel_queued(core);
    hold_engine(core, lock);
    const long long grace_due = add_saturating(monotonic_ns(), core.s.grace_ns);
    for (auto &w : core.workers) {
        if (w->busy) {
            stopped = stopped || w->held != nullptr;
            stop_worker(core, *w, StopReason::Shutdown);
        } else {
            retire_worker(core, *w);
            // A program that does not leave at the end of its requests is stopped.
            core.coll->set_deadline(*w->member, grace_due);
        }
    }
    release_engine(core);
    drive(core, lock, 0, no_workers, &core);
    if (core.server_sock.valid()) {
        // The server reads the end of its socket and leaves; it is reaped
        // without the lock (a slow one must not block the pool's readers).
        core.server_sock.reset();
        ChildWatch server = std::move(core.server);
        lock.unlock();
        server.reap(nullptr, true);
        lock.lock();
    }
    if (stopped) {
        errno = ETIMEDOUT;
        return -1;
    }
    return 0;
}

} // namespace procreact
