// SPDX-License-Identifier: MIT
//
// Pid iterators on the engine: spawning, waiting and completing.
#include "pid_runs.hpp"

#include <cerrno>
#include <memory>
#include <new>
#include <vector>

#include "../engine/boundary.hpp"
#include "../engine/collection.hpp"
#include "pid_pools.hpp"

namespace procreact
{
namespace
{

void deliver(ProcReact_PidIterator *iterator, pid_t pid, ProcReact_Status status, int result) noexcept
{
    if (iterator->complete != nullptr)
        iterator->complete(iterator->data, pid, status, result);
}

// Reaps @p m's child (it has exited, or is waited for now) and calls the
// iterator's retrieve and complete, its exit details available to
// procreact_pid_info() meanwhile.
void complete_pid(ProcReact_PidIterator *iterator, std::unique_ptr<Member> m) noexcept
{
    const pid_t pid = m->child.pid();
    Details &d = m->details;
    const bool reaped = m->child.reap(&d.exit, true) == 1;
    d.have_exit = reaped;
    d.end_ns = monotonic_ns();
    CompletionScope scope(pid, &d);
    if (!reaped) {
        deliver(iterator, pid, PROCREACT_STATUS_WAIT_FAIL, -1); // somebody else reaped it
        return;
    }
    ProcReact_RetrieveResult retrieve =
        iterator->retrieve != nullptr ? iterator->retrieve : procreact_retrieve_exit_status;
    ProcReact_Status status = PROCREACT_STATUS_OK;
    const int result = retrieve(pid, d.exit.wstatus, &status);
    deliver(iterator, pid, status, result);
}

// Kills, reaps and reports members whose collection can no longer wait.
void fail_all(ProcReact_PidIterator *iterator, MemberList members,
              ProcReact_Status failure) noexcept
{
    for (auto &m : members) {
        const pid_t pid = m->child.pid();
        m.reset();
        deliver(iterator, pid, failure, -1);
    }
}

// fail_all() for children counted in the struct (driven by hand).
void fail_counted(ProcReact_PidIterator *iterator, MemberList failed,
                  ProcReact_Status failure) noexcept
{
    const auto lost = static_cast<unsigned int>(failed.size());
    iterator->running_processes = iterator->running_processes > lost ? iterator->running_processes - lost : 0;
    fail_all(iterator, std::move(failed), failure);
}

// Asks `has_next` and `next`. Returns false when there is nothing more (or
// the iterator was cancelled). A pid that cannot be a child of this
// iterator is completed at once with a failure; a good one is in @p m.
bool next_child(ProcReact_PidIterator *iterator, std::unique_ptr<Member> &m) noexcept
{
    if (iterator == nullptr || iterator->has_next == nullptr || iterator->next == nullptr)
        return false;
    if (read_settings(iterator).cancelled || !iterator->has_next(iterator->data))
        return false;
    const pid_t pid = iterator->next(iterator->data);
    if (pid <= 0) {
        // -1 is a failed fork; 0 and other negative values name no single process.
        deliver(iterator, pid, PROCREACT_STATUS_FORK_FAIL, -1);
        return true;
    }
    ChildWatch watch(pid, ChildWatch::Pidfd::Budgeted);
    if (watch.duplicate()) {
        // Returned before and still owned: the first one completes, this one fails.
        deliver(iterator, pid, PROCREACT_STATUS_WAIT_FAIL, -1);
        return true;
    }
    if (!watch.is_our_child()) {
        watch.release(); // not ours to signal or reap
        deliver(iterator, pid, PROCREACT_STATUS_WAIT_FAIL, -1);
        return true;
    }
    m.reset(new (std::nothrow) Member());
    if (!m) {
        // Cannot track it: wait for it now, lose nothing.
        ExitRecord record;
        const bool reaped = watch.reap(&record, true) == 1;
        ProcReact_Status status = PROCREACT_STATUS_WAIT_FAIL;
        int result = -1;
        if (reaped)
            result = (iterator->retrieve ? iterator->retrieve : procreact_retrieve_exit_status)(pid, record.wstatus,
                                                                                                &status);
        deliver(iterator, pid, status, result);
        return true;
    }
    m->child = std::move(watch);
    m->details.start_ns = monotonic_ns();
    return true;
}

// Adds @p m to @p c, or (when it cannot be watched) completes it now.
bool add_or_complete(ProcReact_PidIterator *iterator, Collection *c, std::unique_ptr<Member> &m) noexcept
{
    if (c != nullptr && guard(false, [&] { return c->add(m); }))
        return true;
    complete_pid(iterator, std::move(m));
    return false;
}

// A run takes over what the struct it runs for spawned by hand before: as
// many of its value's pool as the struct counts as its own.
void adopt(ProcReact_PidIterator *iterator, Collection &run) noexcept
{
    unsigned int wanted = iterator->running_processes;
    if (wanted == 0)
        return;
    MemberList taken;
    {
        PoolLease lease(iterator, false);
        Pool *pool = lease.get();
        if (pool == nullptr)
            return;
        pool->take_done(taken, wanted);
        wanted -= static_cast<unsigned int>(taken.size());
        guard_void([&] {
            while (wanted > 0 && pool->running && pool->running->size() != 0) {
                taken.push_back(pool->running->take(pool->running->at(pool->running->size() - 1)));
                --wanted;
            }
        });
    }
    for (auto &m : taken)
        add_or_complete(iterator, &run, m);
}

// The run loop: keep up to @p limit children running, step until none runs
// and none is left.
void run_in(ProcReact_PidIterator *iterator, unsigned int limit, Collection &run) noexcept
{
    const auto sync = [&] { iterator->running_processes = static_cast<unsigned int>(run.size()); };
    sync();
    for (;;) {
        bool more = true;
        while (more && (limit == 0 || run.size() < limit)) {
            std::unique_ptr<Member> m;
            more = next_child(iterator, m);
            if (m)
                add_or_complete(iterator, &run, m);
            sync();
        }
        if (!more && run.size() == 0)
            break;
        MemberList done, failed;
        const ProcReact_Status failure = run.step_or_fail(done, failed, true);
        // Counted down one completion at a time, as 0.1 counts.
        for (std::size_t i = 0; i < done.size(); ++i) {
            iterator->running_processes = static_cast<unsigned int>(run.size() + done.size() - i - 1);
            complete_pid(iterator, std::move(done[i]));
        }
        sync();
        fail_all(iterator, std::move(failed), failure);
        sync();
    }
}

} // namespace

void run_pids(ProcReact_PidIterator *iterator, unsigned int limit) noexcept
{
    if (iterator == nullptr)
        return;
    reap_leftovers();
    sweep_pools(iterator);
    std::unique_ptr<Collection> run;
    try {
        run.reset(new Collection());
    } catch (...) {
    }
    if (!run) {
        // Out of memory for a collection: by hand, through the pool.
        for (;;) {
            bool more = true;
            while (more && (limit == 0 || iterator->running_processes < limit))
                more = spawn_by_hand(iterator);
            if (!more && iterator->running_processes == 0)
                break;
            if (!wait_by_hand(iterator) && !more)
                break;
        }
        return;
    }
    const PoolSettings settings = read_settings(iterator);
    run->defaults() = settings.defaults;
    const bool registered = register_run(iterator, run->waker());
    if (settings.cancelled)
        run->waker()->post_all();
    adopt(iterator, *run);
    run_in(iterator, limit, *run);
    if (registered)
        unregister_run(iterator, run->waker());
}

bool spawn_by_hand(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return false;
    reap_leftovers();
    sweep_pools(iterator);
    std::unique_ptr<Member> m;
    if (!next_child(iterator, m))
        return false;
    if (!m)
        return true;
    bool added = false;
    {
        PoolLease lease(iterator, true);
        Collection *c = lease.running();
        added = c != nullptr && guard(false, [&] { return c->add(m); });
    }
    if (added)
        ++iterator->running_processes;
    else
        complete_pid(iterator, std::move(m)); // cannot track it: wait for it now, lose nothing
    return true;
}

bool wait_by_hand(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return false;
    reap_leftovers();
    sweep_pools(iterator);
    if (iterator->running_processes == 0)
        return false;
    MemberList taken, failed;
    ProcReact_Status failure = PROCREACT_STATUS_OK;
    {
        PoolLease lease(iterator, false);
        Pool *pool = lease.get();
        if (pool == nullptr || lease.empty()) {
            iterator->running_processes = 0; // its children were collected through a twin
            return false;
        }
        while (pool->done.empty() && failure == PROCREACT_STATUS_OK && !lease.empty())
            failure = collect_exited(*pool, true, failed);
        pool->take_done(taken, 1);
    }
    for (auto &m : taken) {
        --iterator->running_processes;
        complete_pid(iterator, std::move(m));
    }
    fail_counted(iterator, std::move(failed), failure);
    return true;
}

void complete_finished_by_hand(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr || iterator->running_processes == 0)
        return;
    reap_leftovers();
    if (pool_quiet(iterator))
        return; // nothing has ended since the last look (0.1's busy loops stay cheap)
    sweep_pools(iterator);
    pool_looked(iterator); // before looking: a later exit changes the count
    MemberList ready, failed;
    ProcReact_Status failure = PROCREACT_STATUS_OK;
    {
        PoolLease lease(iterator, false);
        Pool *pool = lease.get();
        if (pool == nullptr)
            return;
        failure = collect_exited(*pool, false, failed);
        pool->take_done(ready, iterator->running_processes);
    }
    for (auto &m : ready) {
        --iterator->running_processes;
        complete_pid(iterator, std::move(m));
    }
    fail_counted(iterator, std::move(failed), failure);
}

int pool_fd(ProcReact_PidIterator *iterator) noexcept
{
    if (!edit_settings(
            iterator, [](PoolSettings &, void *) {}, nullptr))
        return -1;
    PoolLease lease(iterator, true);
    Collection *c = lease.running();
    return c != nullptr ? c->fd() : -1;
}

} // namespace procreact
