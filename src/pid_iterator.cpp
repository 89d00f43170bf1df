// SPDX-License-Identifier: MIT
//
// procreact_pid_iterator.h: many processes at once, waited for by pid.
#include "procreact_pid_iterator.h"

#include <cerrno>
#include <new>

#include "boundary.hpp"
#include "control.hpp"
#include "future_core.hpp"
#include "procreact_control.h"
#include "pid_iterator.hpp"
#include "pid_registry.hpp"
#include "process.hpp"
#include "run_limited.hpp"

namespace procreact {
namespace {

void sync_count(ProcReact_PidIterator *iterator) noexcept
{
    iterator->running_processes = static_cast<unsigned int>(registry_count(iterator));
}

void deliver(ProcReact_PidIterator *iterator, pid_t pid, ProcReact_Status status, int result) noexcept
{
    if (iterator->complete != nullptr)
        iterator->complete(iterator->data, pid, status, result);
}

// What procreact_pid_info() reports inside a completion on this thread.
struct PidScope {
    pid_t pid;
    Details *details;
    PidScope *outer;
};
thread_local PidScope *t_pid_scope = nullptr;

class PidScopeGuard
{
  public:
    PidScopeGuard(pid_t pid, Details *details) noexcept : scope_{pid, details, t_pid_scope} { t_pid_scope = &scope_; }
    ~PidScopeGuard() { t_pid_scope = scope_.outer; }
    PidScopeGuard(const PidScopeGuard &) = delete;
    PidScopeGuard &operator=(const PidScopeGuard &) = delete;

  private:
    PidScope scope_;
};

} // namespace

void complete_child(ProcReact_PidIterator *iterator, ChildWatch &watch, unsigned flags, long long start_ns) noexcept
{
    const pid_t pid = watch.pid();
    Details details;
    details.flags = flags;
    details.start_ns = start_ns;
    ExitRecord &record = details.exit;
    const bool reaped = watch.reap(&record, true) == 1;
    const int wstatus = record.wstatus;
    details.have_exit = reaped;
    details.end_ns = monotonic_ns();
    sync_count(iterator);
    PidScopeGuard scope(pid, &details);
    if (!reaped) {
        // Somebody else reaped it: its status is lost to us.
        deliver(iterator, pid, PROCREACT_STATUS_WAIT_FAIL, -1);
        return;
    }
    ProcReact_RetrieveResult retrieve =
        iterator->retrieve != nullptr ? iterator->retrieve : procreact_retrieve_exit_status;
    ProcReact_Status status = PROCREACT_STATUS_OK;
    const int result = retrieve(pid, wstatus, &status);
    deliver(iterator, pid, status, result);
}

void complete_exited(ProcReact_PidIterator *iterator, bool block) noexcept
{
    std::vector<ExitedChild> exited;
    ProcReact_Status failure = PROCREACT_STATUS_OK;
    try {
        exited = registry_take_exited(iterator, block);
    } catch (const std::bad_alloc &) {
        failure = PROCREACT_STATUS_OUT_OF_MEMORY;
    } catch (...) {
        failure = PROCREACT_STATUS_WAIT_FAIL;
    }
    if (failure != PROCREACT_STATUS_OK && block) {
        // Waiting itself fails: retrying would spin. Every child of the
        // iterator ends here, killed and reaped, and is reported.
        std::vector<ChildWatch> all = registry_take_all(iterator);
        sync_count(iterator);
        for (auto &watch : all) {
            const pid_t pid = watch.pid();
            watch.kill_and_reap();
            deliver(iterator, pid, failure, -1);
        }
        return;
    }
    for (auto &child : exited)
        complete_child(iterator, child.watch, child.flags, child.start_ns);
}

} // namespace procreact

using namespace procreact;

extern "C" {

ProcReact_PidIterator procreact_initialize_pid_iterator(ProcReact_PidIteratorHasNext has_next,
                                                       ProcReact_PidIteratorNext next,
                                                       ProcReact_RetrieveResult retrieve,
                                                       ProcReact_PidIteratorComplete complete, void *data) noexcept
{
    ProcReact_PidIterator iterator;
    iterator.has_next = has_next;
    iterator.next = next;
    iterator.retrieve = retrieve;
    iterator.complete = complete;
    iterator.data = data;
    iterator.running_processes = 0;
    return iterator;
}

ProcReact_bool procreact_spawn_next_pid(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr || iterator->has_next == nullptr || iterator->next == nullptr)
        return 0;
    registry_tidy(iterator);
    if (registry_cancelled(iterator) || !iterator->has_next(iterator->data))
        return 0;
    const pid_t pid = iterator->next(iterator->data);
    if (pid <= 0) {
        // -1 is a failed fork; 0 and other negative values name no single process.
        deliver(iterator, pid, PROCREACT_STATUS_FORK_FAIL, -1);
        return 1;
    }
    ChildWatch watch(pid, ChildWatch::Pidfd::Later);
    if (!watch.is_our_child()) {
        watch.release(); // not ours to signal or reap
        deliver(iterator, pid, PROCREACT_STATUS_WAIT_FAIL, -1);
        return 1;
    }
    watch.ensure_pidfd(true);
    const bool tracked = guard(false, [&] {
        registry_add(iterator, std::move(watch));
        return true;
    });
    if (!tracked)
        complete_child(iterator, watch); // cannot track it: wait for it now, lose nothing
    sync_count(iterator);
    return 1;
}

ProcReact_bool procreact_wait_for_process_to_complete(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return 0;
    registry_tidy(iterator);
    if (registry_count(iterator) == 0) {
        iterator->running_processes = 0;
        return 0;
    }
    complete_exited(iterator, true);
    return 1;
}

void procreact_fork_in_parallel_and_wait(ProcReact_PidIterator *iterator) noexcept
{
    run_limited(iterator, 0, procreact_spawn_next_pid, procreact_wait_for_process_to_complete);
}

void procreact_fork_and_wait_in_parallel_limit(ProcReact_PidIterator *iterator, const unsigned int limit) noexcept
{
    run_limited(iterator, limit, procreact_spawn_next_pid, procreact_wait_for_process_to_complete);
}

void procreact_destroy_pid_iterator(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return;
    registry_take_all(iterator, true); // each watch kills and reaps its child as it goes
    iterator->running_processes = 0;
}

int procreact_pid_iterator_set_timeout(ProcReact_PidIterator *iterator, double seconds) noexcept
{
    long long ns;
    if (iterator == nullptr || !seconds_to_ns(seconds, &ns)) {
        errno = EINVAL;
        return -1;
    }
    return registry_control(iterator, ControlOp::Timeout, ns);
}

int procreact_pid_iterator_set_stop(ProcReact_PidIterator *iterator, int signo, double grace_seconds) noexcept
{
    long long ns;
    if (iterator == nullptr || signo < 0 || signo > 64 || !seconds_to_ns(grace_seconds, &ns) || ns < 0) {
        errno = EINVAL;
        return -1;
    }
    return registry_control(iterator, ControlOp::Stop, ns, signo);
}

int procreact_pid_iterator_cancel(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return registry_control(iterator, ControlOp::Cancel);
}

int procreact_pid_iterator_fd(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return registry_control(iterator, ControlOp::Fd);
}

int procreact_pid_iterator_step(ProcReact_PidIterator *iterator, unsigned int limit) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    refill(iterator, limit, procreact_spawn_next_pid);
    if (registry_count(iterator) != 0)
        complete_exited(iterator, false);
    refill(iterator, limit, procreact_spawn_next_pid);
    return iterator->running_processes > 0 ? 1 : 0;
}

int procreact_pid_info(pid_t pid, ProcReact_ExitInfo *info) noexcept
{
    if (info == nullptr) {
        errno = EINVAL;
        return -1;
    }
    for (PidScope *scope = t_pid_scope; scope != nullptr; scope = scope->outer) {
        if (scope->pid == pid) {
            scope->details->fill(info);
            return 0;
        }
    }
    errno = ESRCH;
    return -1;
}

} // extern "C"
