// SPDX-License-Identifier: MIT
//
// procreact_pid_iterator.h and its part of procreact_control.h: many
// processes at once, waited for by pid.
#include "procreact_pid_iterator.h"

#include <cerrno>

#include "../drivers/pid_pools.hpp"
#include "../drivers/pid_runs.hpp"
#include "../drivers/run_limited.hpp"
#include "../engine/exit_details.hpp"
#include "procreact_control.h"

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
    return spawn_by_hand(iterator) ? 1 : 0;
}

ProcReact_bool procreact_wait_for_process_to_complete(ProcReact_PidIterator *iterator) noexcept
{
    return wait_by_hand(iterator) ? 1 : 0;
}

void procreact_fork_in_parallel_and_wait(ProcReact_PidIterator *iterator) noexcept
{
    run_pids(iterator, 0);
}

void procreact_fork_and_wait_in_parallel_limit(ProcReact_PidIterator *iterator, const unsigned int limit) noexcept
{
    run_pids(iterator, limit);
}

void procreact_destroy_pid_iterator(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return;
    destroy_pool(iterator); // each child is killed and reaped as it goes
    iterator->running_processes = 0;
}

int procreact_pid_iterator_set_timeout(ProcReact_PidIterator *iterator, double seconds) noexcept
{
    long long ns;
    if (iterator == nullptr || !seconds_to_ns(seconds, &ns)) {
        errno = EINVAL;
        return -1;
    }
    return edit_settings(
               iterator, [](PoolSettings &s, void *arg) { s.defaults.timeout_ns = *static_cast<long long *>(arg); },
               &ns)
               ? 0
               : -1;
}

int procreact_pid_iterator_set_stop(ProcReact_PidIterator *iterator, int signo, double grace_seconds) noexcept
{
    StopDefaults stop;
    if (iterator == nullptr || !parse_stop(signo, grace_seconds, &stop.grace_ns)) {
        errno = EINVAL;
        return -1;
    }
    stop.signo = signo;
    return edit_settings(
               iterator,
               [](PoolSettings &s, void *arg) {
                   const auto *want = static_cast<const StopDefaults *>(arg);
                   s.defaults.stop_set = true;
                   s.defaults.signo = want->signo;
                   s.defaults.grace_ns = want->grace_ns;
               },
               &stop)
               ? 0
               : -1;
}

int procreact_pid_iterator_cancel(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return cancel_value(iterator);
}

int procreact_pid_iterator_fd(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return pool_fd(iterator);
}

int procreact_pid_iterator_step(ProcReact_PidIterator *iterator, unsigned int limit) noexcept
{
    if (iterator == nullptr) {
        errno = EINVAL;
        return -1;
    }
    refill(iterator, limit, spawn_by_hand);
    complete_finished_by_hand(iterator);
    refill(iterator, limit, spawn_by_hand);
    return iterator->running_processes > 0 ? 1 : 0;
}

int procreact_pid_info(pid_t pid, ProcReact_ExitInfo *info) noexcept
{
    if (info == nullptr) {
        errno = EINVAL;
        return -1;
    }
    Details *details = CompletionScope::find(pid);
    if (details == nullptr) {
        errno = ESRCH;
        return -1;
    }
    details->fill(info);
    return 0;
}

} // extern "C"
