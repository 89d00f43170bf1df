// SPDX-License-Identifier: MIT
//
// procreact_task_*(): a submitted task's status, reply, exit details, wait, cancel and free.
#include <cerrno>
#include <cstring>

#include "../engine/boundary.hpp"
#include "../pool/pool.hpp"

using namespace procreact;

namespace
{

bool final_status(ProcReact_TaskStatus s) noexcept
{
    return s != PROCREACT_TASK_QUEUED && s != PROCREACT_TASK_RUNNING;
}

bool task_completed(void *arg) noexcept
{
    return final_status(static_cast<ProcReact_Task *>(arg)->status);
}

} // namespace

extern "C" {

ProcReact_TaskStatus procreact_task_status(const ProcReact_Task *task) noexcept
{
    if (task == nullptr)
        return PROCREACT_TASK_CANCELLED;
    std::lock_guard<std::mutex> lock(task->core->mu);
    return task->status;
}

int procreact_task_wait(ProcReact_Task *task, int timeout_ms) noexcept
{
    if (task == nullptr) {
        errno = EINVAL;
        return -1;
    }
    PoolCore &core = *task->core;
    std::unique_lock<std::mutex> lock(core.mu);
    if (!final_status(task->status)) {
        if (drive(core, lock, drive_deadline(timeout_ms), task_completed, task) < 0)
            return -1;
    }
    if (!final_status(task->status)) {
        errno = ETIMEDOUT;
        return -1;
    }
    return 0;
}

int procreact_task_cancel(ProcReact_Task *task) noexcept
{
    if (task == nullptr) {
        errno = EINVAL;
        return -1;
    }
    PoolCore &core = *task->core;
    std::unique_lock<std::mutex> lock(core.mu);
    if (final_status(task->status)) {
        errno = EALREADY;
        return -1;
    }
    if (task->in_queue) {
        core.queue.remove(task);
        task->in_queue = false;
        complete_task(core, task, PROCREACT_TASK_CANCELLED);
        wake_stepper(core, lock); // a thread stepping for it returns
        return 0;
    }
    if (task->cancel_asked)
        return 0;
    try {
        core.cancels.push_back(task);
    } catch (...) {
        errno = ENOMEM;
        return -1;
    }
    task->cancel_asked = true;
    if (core.stepping || !core.coll) {
        WakerRef waker = core.coll ? core.coll->waker() : nullptr;
        lock.unlock();
        if (waker)
            waker->ring();
        return 0;
    }
    core.stepping = true; // nobody steps: the worker is stopped now
    service(core, lock);
    release_engine(core);
    return 0;
}

const void *procreact_task_reply(const ProcReact_Task *task, size_t *size) noexcept
{
    size_t scratch;
    size_t &n = size != nullptr ? *size : scratch;
    n = 0;
    if (task == nullptr)
        return nullptr;
    std::lock_guard<std::mutex> lock(task->core->mu);
    if (!task->has_reply || !final_status(task->status))
        return nullptr;
    n = task->reply.size();
    return task->reply.data();
}

int procreact_task_error(const ProcReact_Task *task) noexcept
{
    if (task == nullptr)
        return 0;
    std::lock_guard<std::mutex> lock(task->core->mu);
    return task->status == PROCREACT_TASK_FAILED ? task->error : 0;
}

int procreact_task_exit_info(const ProcReact_Task *task, ProcReact_ExitInfo *info) noexcept
{
    if (task == nullptr || info == nullptr) {
        errno = EINVAL;
        return -1;
    }
    std::lock_guard<std::mutex> lock(task->core->mu);
    if (!task->has_exit) {
        errno = ENOENT;
        return -1;
    }
    *info = task->exit;
    return 0;
}

pid_t procreact_task_worker_pid(const ProcReact_Task *task) noexcept
{
    if (task == nullptr)
        return 0;
    std::lock_guard<std::mutex> lock(task->core->mu);
    return task->worker_pid;
}

void procreact_task_free(ProcReact_Task *task) noexcept
{
    if (task == nullptr)
        return;
    std::shared_ptr<PoolCore> core = std::move(task->core);
    {
        std::lock_guard<std::mutex> lock(core->mu);
        if (task->in_queue)
            core->queue.remove(task);
        if (task->in_done)
            core->done.remove(task);
        for (auto &w : core->workers)
            if (w->held == task)
                w->held = nullptr; // it finishes; its reply is dropped
        for (auto &c : core->cancels)
            if (c == task)
                c = nullptr;
    }
    delete task;
}

} // extern "C"
