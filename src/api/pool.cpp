// SPDX-License-Identifier: MIT
//
// procreact_pool_*(): making, driving, shutting down and freeing a pool; submitting tasks.
#include <cerrno>
#include <cstring>
#include <new>

#include <unistd.h>

#include "../engine/boundary.hpp"
#include "../pool/pool.hpp"

using namespace procreact;

namespace
{

// Channel events are taken by the pool itself after each step; a callback
// is set only so that the collection lists them.
void no_callback(void *, const ProcReact_Future *, ProcReact_Channel *, ProcReact_ChannelEvent, ProcReact_Message *,
                 int) noexcept
{
}

bool any_completion(void *arg) noexcept
{
    auto *p = static_cast<std::pair<PoolCore *, std::uint64_t> *>(arg);
    return p->first->completions != p->second;
}

// procreact_pool_map() failed: its first @p n tasks are cancelled and freed; errno is kept.
int drop_tasks(ProcReact_Task **tasks, std::size_t n) noexcept
{
    const int error = errno;
    for (std::size_t j = 0; j < n; ++j) {
        procreact_task_cancel(tasks[j]);
        procreact_task_free(tasks[j]);
        tasks[j] = nullptr;
    }
    errno = error;
    return -1;
}

ProcReact_Task *submit(const std::shared_ptr<PoolCore> &core, const void *request, std::size_t size,
                       double deadline_seconds, WakerRef &ring)
{
    PoolCore &c = *core;
    long long deadline_ns = 0;
    if ((request == nullptr && size != 0) || !(deadline_seconds >= 0) ||
        (deadline_seconds > 0 && !seconds_to_ns(deadline_seconds, &deadline_ns))) {
        errno = EINVAL;
        return nullptr;
    }
    if (size > c.s.max_message) {
        errno = EMSGSIZE;
        return nullptr;
    }
    if (c.s.mode == PROCREACT_CHANNEL_LINES && size != 0 && std::memchr(request, '\n', size) != nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    std::unique_ptr<ProcReact_Task> t(new ProcReact_Task());
    if (size != 0)
        t->request.assign(static_cast<const char *>(request), size);
    t->deadline_ns = deadline_ns;
    t->core = core;
    std::unique_lock<std::mutex> lock(c.mu);
    if (c.shut || !c.coll) {
        errno = ESHUTDOWN;
        return nullptr;
    }
    if (c.error != 0) {
        errno = EPIPE;
        return nullptr;
    }
    c.queue.push_back(t.get());
    t->in_queue = true;
    if (c.stepping) {
        ring = c.coll->waker(); // the stepping thread sends it
    } else {
        c.stepping = true; // nobody steps: sent now, if a worker is idle
        service(c, lock);
        release_engine(c);
    }
    return t.release();
}

} // namespace

extern "C" {

ProcReact_Pool *procreact_pool_new(const ProcReact_PoolConfig *config) noexcept
{
    if (config == nullptr || (!config->s.forked() && !config->s.command)) {
        errno = EINVAL;
        return nullptr;
    }
    return guard(static_cast<ProcReact_Pool *>(nullptr), [&]() -> ProcReact_Pool * {
        reap_leftovers();
        std::unique_ptr<ProcReact_Pool> pool(new ProcReact_Pool());
        pool->core = std::make_shared<PoolCore>(config->s);
        PoolCore &core = *pool->core;
        core.coll.reset(new Collection());
        core.coll->set_channel_callback(no_callback, nullptr);
        if (core.s.workers != 0) {
            core.target = core.s.workers;
        } else {
            const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
            core.target = n > 0 ? static_cast<unsigned>(n) : 1u;
        }
        if (core.s.fork_server && core.s.forked()) {
            if (const int error = start_fork_server(core)) {
                errno = error;
                return nullptr;
            }
        }
        CoreLock lock(core.mu);
        core.stepping = true; // start_worker() takes the role (nobody else has the pool yet)
        for (unsigned i = 0; i < core.target; ++i) {
            if (const int error = start_worker(core, lock)) {
                if (i == 0) {
                    release_engine(core);
                    lock.unlock();
                    shutdown_pool(core, false, 0);
                    errno = error;
                    return nullptr;
                }
                break; // the rest are started by the steps
            }
        }
        release_engine(core);
        return pool.release();
    });
}

int procreact_pool_shutdown(ProcReact_Pool *pool, int drain, double timeout_seconds) noexcept
{
    if (pool == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return shutdown_pool(*pool->core, drain != 0, timeout_seconds);
}

void procreact_pool_free(ProcReact_Pool *pool) noexcept
{
    if (pool == nullptr)
        return;
    PoolCore &core = *pool->core;
    shutdown_pool(core, false, 0);
    std::unique_ptr<Collection> coll;
    {
        std::unique_lock<std::mutex> lock(core.mu);
        hold_engine(core, lock);
        core.freed = true;
        coll = std::move(core.coll); // its descriptors close now, not with the last task
        release_engine(core);
    }
    coll.reset();
    delete pool;
}

ProcReact_Task *procreact_pool_submit(ProcReact_Pool *pool, const void *request, size_t size,
                                      double deadline_seconds) noexcept
{
    if (pool == nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    WakerRef ring;
    ProcReact_Task *t = guard(static_cast<ProcReact_Task *>(nullptr),
                              [&] { return submit(pool->core, request, size, deadline_seconds, ring); });
    if (ring)
        ring->ring();
    return t;
}

int procreact_pool_map(ProcReact_Pool *pool, const void *const *requests, const size_t *sizes, size_t count,
                       double deadline_seconds, ProcReact_Task **tasks) noexcept
{
    if (pool == nullptr || (count != 0 && (requests == nullptr || sizes == nullptr || tasks == nullptr))) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < count; ++i) {
        tasks[i] = procreact_pool_submit(pool, requests[i], sizes[i], deadline_seconds);
        if (tasks[i] == nullptr)
            return drop_tasks(tasks, i);
    }
    for (size_t i = 0; i < count; ++i) {
        if (procreact_task_wait(tasks[i], -1) != 0)
            return drop_tasks(tasks, count);
    }
    return 0;
}

int procreact_pool_fd(ProcReact_Pool *pool) noexcept
{
    if (pool == nullptr) {
        errno = EINVAL;
        return -1;
    }
    PoolCore &core = *pool->core;
    std::unique_lock<std::mutex> lock(core.mu);
    if (!core.coll) {
        errno = EINVAL;
        return -1;
    }
    hold_engine(core, lock);
    const int fd = core.coll->fd();
    const int error = errno;
    release_engine(core);
    errno = fd < 0 && error == 0 ? ENOMEM : error;
    return fd;
}

int procreact_pool_step(ProcReact_Pool *pool, int timeout_ms) noexcept
{
    if (pool == nullptr) {
        errno = EINVAL;
        return -1;
    }
    PoolCore &core = *pool->core;
    std::unique_lock<std::mutex> lock(core.mu);
    // Negative: until a completion, unless nothing is queued or running (then one look).
    long long deadline = drive_deadline(timeout_ms);
    if (timeout_ms < 0 && outstanding(core) == 0 && core.cancels.empty())
        deadline = -1;
    std::pair<PoolCore *, std::uint64_t> arg{&core, core.completions};
    return drive(core, lock, deadline, deadline == -1 ? nullptr : any_completion, &arg);
}

ProcReact_Task *procreact_pool_next_done(ProcReact_Pool *pool) noexcept
{
    if (pool == nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    PoolCore &core = *pool->core;
    std::lock_guard<std::mutex> lock(core.mu);
    ProcReact_Task *t = core.done.pop_front();
    if (t == nullptr) {
        errno = EAGAIN;
        return nullptr;
    }
    t->in_done = false;
    return t;
}

int procreact_pool_error(const ProcReact_Pool *pool, ProcReact_ExitInfo *last) noexcept
{
    if (pool == nullptr)
        return EINVAL;
    PoolCore &core = *pool->core;
    std::lock_guard<std::mutex> lock(core.mu);
    if (last != nullptr) {
        std::memset(last, 0, sizeof *last);
        if (core.error != 0)
            *last = core.last_exit;
    }
    return core.error;
}

int procreact_pool_stats(const ProcReact_Pool *pool, ProcReact_PoolStats *stats) noexcept
{
    if (pool == nullptr || stats == nullptr) {
        errno = EINVAL;
        return -1;
    }
    PoolCore &core = *pool->core;
    std::lock_guard<std::mutex> lock(core.mu);
    *stats = core.stats;
    unsigned alive = 0;
    for (const auto &w : core.workers)
        alive += w->member != nullptr ? 1u : 0u;
    stats->workers_alive = alive;
    stats->tasks_queued = static_cast<unsigned>(core.queue.size());
    return 0;
}

} // extern "C"
