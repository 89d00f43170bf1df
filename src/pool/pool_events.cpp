// SPDX-License-Identifier: MIT
//
// A pool's bookkeeping after each step: replies, deaths (the held task
// completes with the exit details), recycling, crash-loop back-off,
// replacements, and handing queued tasks to idle workers one at a time.
#include <algorithm>
#include <cerrno>

#include "pool.hpp"

namespace procreact
{

void TaskList::push_back(ProcReact_Task *t) noexcept
{
    t->link.prev = tail_;
    t->link.next = nullptr;
    if (tail_ != nullptr)
        tail_->link.next = t;
    else
        head_ = t;
    tail_ = t;
    ++size_;
}

void TaskList::remove(ProcReact_Task *t) noexcept
{
    if (t->link.prev != nullptr)
        t->link.prev->link.next = t->link.next;
    else
        head_ = t->link.next;
    if (t->link.next != nullptr)
        t->link.next->link.prev = t->link.prev;
    else
        tail_ = t->link.prev;
    t->link = TaskLink{};
    --size_;
}

ProcReact_Task *TaskList::pop_front() noexcept
{
    ProcReact_Task *t = head_;
    if (t != nullptr)
        remove(t);
    return t;
}

namespace
{

constexpr long long kMaxDelayNs = kNsPerSecond;

Worker *find_worker(PoolCore &core, const Member *m) noexcept
{
    for (auto &w : core.workers)
        if (w->member == m)
            return w.get();
    return nullptr;
}

std::uint32_t be32(const char *p) noexcept
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}

bool may_start(const PoolCore &core) noexcept
{
    return core.error == 0 && !core.closing && (!core.shut || (core.draining && !core.queue.empty()));
}

// A worker died before it finished any task (or could not be started):
// one more in a row; the pool fails at the limit, else the next start waits.
void count_early_death(PoolCore &core, long long now) noexcept
{
    ++core.deaths_in_row;
    if (core.deaths_in_row >= core.s.crash_limit) {
        fail_pool(core, ECHILD);
        return;
    }
    // Doubled up to 1 s, or up to the first delay when that is longer: it never shrinks.
    const long long cap = std::max(kMaxDelayNs, core.s.first_delay_ns);
    core.next_delay_ns = core.next_delay_ns == 0 ? core.s.first_delay_ns : std::min(core.next_delay_ns * 2, cap);
    core.respawn_due = now + core.next_delay_ns;
}

// The replacement first, then the worker leaves (throughput does not dip).
void recycle(PoolCore &core, Worker &w, CoreLock &lock) noexcept
{
    ++core.stats.workers_recycled;
    if (may_start(core) && live_workers(core) <= core.target)
        start_worker(core, lock); // on failure the next service() tries again
    retire_worker(core, w);
}

void on_reply(PoolCore &core, Worker &w, ProcReact_Message &msg, CoreLock &lock) noexcept
{
    if (!w.ready) { // the worker's first message: it is ready (a forked worker's init is done)
        if (msg.size != 0) {
            stop_worker(core, w, StopReason::Broken); // not the handshake: a start-up death
            return;
        }
        w.ready = true;
        return;
    }
    if (!w.busy)
        return; // nothing was asked: dropped
    w.busy = false;
    ProcReact_Task *t = w.held;
    w.held = nullptr;
    core.coll->set_deadline(*w.member, 0);
    ++w.tasks_done;
    core.deaths_in_row = 0;
    core.next_delay_ns = 0;
    if (t != nullptr && t->cancel_asked) {
        // The reply crossed a cancel that succeeded: the task is what the
        // cancel said (its worker is being stopped, needlessly but harmlessly).
        complete_task(core, t, PROCREACT_TASK_CANCELLED);
        t = nullptr;
    } else {
        ++core.stats.tasks_done;
    }
    if (t != nullptr) {
        const char *data = msg.data;
        std::size_t size = static_cast<std::size_t>(msg.size);
        int rc = 0;
        if (core.s.forked()) {
            if (size < 4) {
                rc = EPROTO;
                size = 0;
            } else {
                rc = static_cast<int>(be32(data));
                data += 4;
                size -= 4;
            }
        }
        try {
            t->reply.assign(data, size);
            t->has_reply = true;
        } catch (...) {
            rc = rc != 0 ? rc : ENOMEM;
        }
        t->error = rc;
        complete_task(core, t, rc == 0 ? PROCREACT_TASK_DONE : PROCREACT_TASK_FAILED);
    }
    if ((core.s.max_tasks != 0 && w.tasks_done >= core.s.max_tasks) ||
        (core.s.max_rss != 0 && resident_bytes(w.pid) > core.s.max_rss))
        recycle(core, w, lock);
}

// The channel ended while the worker may still run. After an error (a
// reply over the limit) it is stopped now; after a clean end (a worker on
// its way out, or a program that closed its channel) it gets the grace
// period to leave before the stop sequence. Either way its task crashes.
void on_closed(PoolCore &core, Worker &w, int error) noexcept
{
    if (w.stopped != StopReason::None || w.retiring || w.member->stop.phase != StopPhase::Running)
        return; // being stopped already (its deadline passed)
    if (error != 0) {
        stop_worker(core, w, StopReason::Broken);
        return;
    }
    w.stopped = StopReason::Broken;
    core.coll->set_deadline(*w.member, add_saturating(monotonic_ns(), core.s.grace_ns));
}

void on_death(PoolCore &core, Worker &w, unsigned flags, const ProcReact_ExitInfo &info) noexcept
{
    const long long now = monotonic_ns();
    StopReason reason = w.stopped;
    if (reason == StopReason::None && (flags & PROCREACT_EXIT_TIMED_OUT) != 0)
        reason = StopReason::Deadline;
    const bool own = reason == StopReason::None || reason == StopReason::Broken;
    if (w.busy && w.held != nullptr) {
        ProcReact_Task *t = w.held;
        w.held = nullptr;
        t->has_exit = true;
        t->exit = info;
        ProcReact_TaskStatus status = PROCREACT_TASK_CRASHED;
        if (reason == StopReason::Deadline)
            status = PROCREACT_TASK_TIMED_OUT;
        if (reason == StopReason::Cancel || reason == StopReason::Shutdown || t->cancel_asked)
            status = PROCREACT_TASK_CANCELLED; // a cancel that succeeded is kept to its word
        complete_task(core, t, status);
    }
    if (w.retiring)
        return; // counted as recycled; its replacement started already
    if (own)
        ++core.stats.workers_crashed;
    else
        ++core.stats.workers_stopped;
    if (own && !core.closing) {
        core.last_exit = info;
        if (w.tasks_done == 0)
            count_early_death(core, now);
    }
}

} // namespace

void complete_task(PoolCore &core, ProcReact_Task *t, ProcReact_TaskStatus status) noexcept
{
    t->status = status;
    t->in_done = true;
    core.done.push_back(t);
    ++core.completions;
    core.cv.notify_all();
}

unsigned live_workers(const PoolCore &core) noexcept
{
    unsigned n = 0;
    // A worker whose channel broke counts until it is reaped: its death,
    // not the broken channel, decides when (after what back-off) it is
    // replaced. One the pool stops on purpose is replaced at once.
    for (const auto &w : core.workers)
        if (!w->retiring && (w->stopped == StopReason::None || w->stopped == StopReason::Broken))
            ++n;
    return n;
}

std::size_t outstanding(const PoolCore &core) noexcept
{
    std::size_t n = core.queue.size();
    for (const auto &w : core.workers)
        if (w->busy && w->held != nullptr)
            ++n;
    return n;
}

void fail_pool(PoolCore &core, int error) noexcept
{
    core.error = error;
    while (ProcReact_Task *t = core.queue.pop_front()) {
        t->in_queue = false;
        complete_task(core, t, PROCREACT_TASK_POOL_FAILED);
    }
}

void process_events(PoolCore &core, CoreLock &lock) noexcept
{
    Collection &coll = *core.coll;
    core.ready_scratch.clear();
    bool room = true;
    try {
        core.ready_scratch.reserve(core.workers.size()); // a member listed per worker at most
    } catch (...) {
        room = false; // out of memory: the events stay listed, for the next step
    }
    if (room)
        coll.drain_channel_ready(
            [](Member &m, void *arg) {
                // Within the room reserved above: no allocation. Nothing
                // below reserves again while the list is walked.
                static_cast<PoolCore *>(arg)->ready_scratch.push_back(&m);
            },
            &core);
    for (Member *m : core.ready_scratch) {
        Worker *w = find_worker(core, m);
        if (w == nullptr)
            continue;
        MessagePtr msg;
        while (w->member->chan->take(msg) == 0)
            on_reply(core, *w, *msg, lock);
        w->member->chan->take_writable_event();
        int error = 0;
        if (w->member->chan->take_closed_event(error))
            on_closed(core, *w, error);
    }
    core.ready_scratch.clear();

    while (std::unique_ptr<Member> m = coll.pop_done()) {
        Worker *w = find_worker(core, m.get());
        if (m->child.reap(&m->details.exit, true) == 1) {
            m->details.have_exit = true;
            m->details.end_ns = monotonic_ns();
        }
        ProcReact_ExitInfo info;
        m->details.fill(&info);
        std::free(info.stderr_data); // never captured for a worker
        info.stderr_data = nullptr;
        info.stderr_length = 0;
        if (w == nullptr)
            continue;
        on_death(core, *w, m->details.flags, info);
        auto it = std::find_if(core.workers.begin(), core.workers.end(),
                               [w](const std::unique_ptr<Worker> &p) { return p.get() == w; });
        std::swap(*it, core.workers.back());
        core.workers.pop_back();
    }
}

void service(PoolCore &core, CoreLock &lock) noexcept
{
    // Cancelled running tasks: their workers are stopped.
    for (ProcReact_Task *t : core.cancels)
        for (auto &w : core.workers)
            if (t != nullptr && w->busy && w->held == t)
                stop_worker(core, *w, StopReason::Cancel);
    core.cancels.clear();

    // Replacements, after the back-off of a crash loop.
    long long now = monotonic_ns();
    while (may_start(core) && live_workers(core) < core.target && now >= core.respawn_due) {
        if (const int error = start_worker(core, lock)) {
            core.last_exit = ProcReact_ExitInfo{};
            core.last_exit.exit_code = -1;
            count_early_death(core, now);
            if (core.error != 0)
                core.error = error;
            break;
        }
        now = monotonic_ns();
    }

    // One task per idle worker.
    for (auto &wp : core.workers) {
        if (core.queue.empty())
            break;
        Worker &w = *wp;
        if (!w.ready || w.busy || w.retiring || w.stopped != StopReason::None)
            continue;
        ProcReact_Task *t = core.queue.pop_front();
        t->in_queue = false;
        if (w.member->chan->send(t->request.data(), t->request.size(), nullptr, 0) < 0) {
            // The worker is gone or broken: the task waits for another one.
            core.queue.push_back(t);
            t->in_queue = true;
            stop_worker(core, w, StopReason::Broken);
            continue;
        }
        w.busy = true;
        w.held = t;
        t->status = PROCREACT_TASK_RUNNING;
        t->worker_pid = w.pid;
        if (t->deadline_ns > 0)
            core.coll->set_deadline(*w.member, add_saturating(monotonic_ns(), t->deadline_ns));
        std::string().swap(t->request); // sent: its memory goes back
    }
}

} // namespace procreact
