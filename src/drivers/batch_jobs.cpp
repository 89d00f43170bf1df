// SPDX-License-Identifier: MIT
//
// Driving a batch on the engine: queued jobs start up to the limit, the
// collection serves them, ended ones wait in a list until a wait hands them out.
#include "batch_jobs.hpp"

#include <cerrno>
#include <cstring>
#include <new>

#include "../engine/boundary.hpp"
#include "../os/clock.hpp"
#include "../os/fd.hpp"
#include "../os/small_array.hpp"
#include "future_finish.hpp"
#include "procreact_control.h"
#include "spawn_member.hpp"
#include "spawn_threads.hpp"

ProcReact_Batch::ProcReact_Batch(const ProcReact_Command &tmpl, unsigned int max) : command(tmpl), limit(max) {}

namespace procreact
{
namespace
{

// How long a wait that has results may go on gathering more (see wait_jobs).
constexpr long long kGatherNs = kNsPerMs;

// A job that ended without running: not started (@p error), or cancelled first.
void end_unstarted(ProcReact_Batch &b, std::size_t index, int error, unsigned flags)
{
    EndedJob e;
    e.index = index;
    e.status = PROCREACT_STATUS_FORK_FAIL;
    e.details.exec_errno = error;
    e.details.flags = flags;
    b.ended.push_back(std::move(e));
}

// Reaps a done member and lists its job as ended, its output kept.
void end_member(ProcReact_Batch &b, std::unique_ptr<Member> m)
{
    EndedJob e;
    e.index = m->job;
    ProcReact_Future future = m->future;
    void *result = finish(future, std::move(m), &e.status, &e.details);
    if (auto *bytes = static_cast<ProcReact_BytesState *>(result)) {
        e.out.reset(static_cast<char *>(bytes->data));
        e.out_size = bytes->data_size;
        std::free(bytes);
    }
    b.ended.push_back(std::move(e));
}

// Starts one claimed job (the node in @p claimed): it runs and is in the
// collection, or has ended and is listed. Throws std::bad_alloc before a
// child exists (the job is still in @p claimed) and, rarely, after (the
// job is then gone from @p claimed: it is never started twice).
void start_job(ProcReact_Batch &b, std::list<QueuedJob> &claimed)
{
    static const ProcReact_Type output = procreact_create_output_type();
    QueuedJob &job = claimed.front();
    // The job's argv on the stack (no allocation per job for a few words).
    SmallArray<char *, 32> argv(job.words + 1);
    for (char *w = &job.args[0], *end = w + job.args.size(); w < end; w += std::strlen(w) + 1)
        argv.push_back(w);
    argv.push_back(nullptr);
    std::unique_ptr<Member> m;
    // No pidfd made with the child where the collection's exit ring watches it.
    const ExitWait wait = b.collection.exits_by_ring() ? ExitWait::Ring : ExitWait::Descriptors;
    const int error = spawn_member(b.command, argv.data(), output, m, wait); // opens a fill's gate
    const std::size_t index = job.index;
    if (error != 0) {
        end_unstarted(b, index, error, 0);
        claimed.clear();
        return;
    }
    claimed.clear();
    m->job = index;
    m->plan.limit = b.output_limit;
    bool taken = false;
    try {
        taken = b.collection.add(m);
    } catch (...) {
    }
    if (!taken) // it cannot be watched: its streams close and it is reaped now
        end_member(b, std::move(m));
}

// A batch as a fill's target (drivers/spawn_threads.hpp): each job is
// claimed (its node moved out of the queue) before it is spawned, so the
// fill's other threads never see it.
class BatchTarget final : public FillTarget
{
  public:
    explicit BatchTarget(ProcReact_Batch &b) noexcept : b_(b) {}
    unsigned int running() const noexcept override { return static_cast<unsigned int>(b_.collection.size()); }
    bool spawn_one() noexcept override
    {
        if (out_of_memory_ || b_.queued.empty() || b_.collection.cancelled())
            return false;
        std::list<QueuedJob> claimed;
        claimed.splice(claimed.begin(), b_.queued, b_.queued.begin());
        try {
            start_job(b_, claimed);
        } catch (...) {
            out_of_memory_ = true; // every exception here is std::bad_alloc
        }
        b_.queued.splice(b_.queued.begin(), claimed); // a job that did not start stays queued
        return !out_of_memory_;
    }
    bool out_of_memory() const noexcept { return out_of_memory_; }

  private:
    ProcReact_Batch &b_;
    bool out_of_memory_ = false;
};

// Starts queued jobs while fewer than the limit run, from several threads
// where the batch's setting allows. Throws std::bad_alloc (the job that was
// being started stays queued, or has ended and is listed).
void start_queued(ProcReact_Batch &b)
{
    if (b.queued.empty())
        return;
    BatchTarget target(b);
    fill_target(target, b.limit, spawn_threads_for(b.spawn_threads, default_spawn_threads()));
    b.collection.submit_held_watches(); // the exits that launcher threads left to this one
    if (target.out_of_memory())
        throw std::bad_alloc();
}

// After a cancellation: no queued job starts, each ends as cancelled.
void cancel_queued(ProcReact_Batch &b)
{
    while (!b.queued.empty()) {
        end_unstarted(b, b.queued.front().index, ECANCELED, PROCREACT_EXIT_CANCELLED);
        b.queued.pop_front();
    }
}

// One step of the collection (blocking at most @p max_wait_ms, -1: until
// something happens); ended members are listed.
void step(ProcReact_Batch &b, bool block, int max_wait_ms = -1)
{
    MemberList done, failed;
    const ProcReact_Status failure = b.collection.step_or_fail(done, failed, block, max_wait_ms);
    for (auto &m : done)
        end_member(b, std::move(m));
    for (auto &m : failed) {
        const std::size_t index = m->job;
        m.reset(); // killed and reaped
        EndedJob e;
        e.index = index;
        e.status = failure;
        b.ended.push_back(std::move(e));
    }
}

void hand_out(ProcReact_Batch &b, ProcReact_BatchResult *out, std::size_t n)
{
    b.handed.reserve(2 * n); // nothing below allocates
    for (std::size_t i = 0; i < n; ++i) {
        EndedJob &e = b.ended.front();
        ProcReact_BatchResult &r = out[i];
        std::memset(&r, 0, sizeof r);
        r.index = e.index;
        r.status = e.status;
        e.details.fill(&r.info);
        MallocBytes err(static_cast<char *>(r.info.stderr_data));
        r.stderr_data = err.get();
        r.stderr_length = err ? r.info.stderr_length : 0;
        r.info.stderr_data = nullptr;
        r.info.stderr_length = 0;
        r.stdout_data = e.out.get();
        r.stdout_length = e.out ? e.out_size : 0;
        if (err)
            b.handed.push_back(std::move(err));
        if (e.out)
            b.handed.push_back(std::move(e.out));
        b.ended.pop_front();
    }
    b.delivered += n;
}

} // namespace

ssize_t submit_jobs(ProcReact_Batch &b, const char *const *argv, const std::size_t *counts, std::size_t count) noexcept
{
    if (count != 0 && (argv == nullptr || counts == nullptr)) {
        errno = EINVAL;
        return -1;
    }
    std::size_t at = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (counts[i] == 0 || argv[at] == nullptr || argv[at][0] == '\0') {
            errno = EINVAL;
            return -1;
        }
        for (std::size_t k = 0; k < counts[i]; ++k)
            if (argv[at + k] == nullptr) {
                errno = EINVAL;
                return -1;
            }
        at += counts[i];
    }
    if (b.collection.cancelled()) {
        errno = ECANCELED;
        return -1;
    }
    const std::size_t first = b.submitted;
    const std::size_t before = b.queued.size();
    const bool ok = guard(false, [&] {
        at = 0;
        for (std::size_t i = 0; i < count; ++i) {
            QueuedJob job{first + i, std::string(), counts[i]};
            for (std::size_t k = 0; k < counts[i]; ++k)
                job.args.append(argv[at + k]).push_back('\0');
            at += counts[i];
            b.queued.push_back(std::move(job));
        }
        return true;
    });
    if (!ok) { // nothing queued
        b.queued.resize(before, QueuedJob{0, std::string(), 0});
        return -1;
    }
    b.submitted += count;
    return static_cast<ssize_t>(first);
}

ssize_t wait_jobs(ProcReact_Batch &b, ProcReact_BatchResult *out, std::size_t max, int timeout_ms) noexcept
{
    b.handed.clear(); // the previous results' data
    const long long deadline = timeout_ms > 0 ? monotonic_ns() + timeout_ms * kNsPerMs : 0;
    long long gather_until = 0;
    const bool ok = guard(false, [&] {
        for (;;) {
            if (b.collection.cancelled())
                cancel_queued(b);
            else
                start_queued(b);
            if (b.collection.size() == 0)
                return true;
            if (!b.ended.empty()) {
                // While queued jobs keep every slot busy, results that end
                // within kGatherNs of the first come back with it: one
                // return to the caller for several programs, not one each.
                if (timeout_ms == 0 || b.queued.empty() || b.ended.size() >= max || b.collection.cancelled())
                    return true;
                const long long now = monotonic_ns();
                if (gather_until == 0)
                    gather_until = deadline != 0 ? std::min(deadline, now + kGatherNs) : now + kGatherNs;
                const int left = ms_until(gather_until, now);
                if (left == 0)
                    return true;
                step(b, true, left);
                continue;
            }
            if (timeout_ms > 0) { // one wait in the collection, capped: no descriptor of its own
                const int left = ms_until(deadline, monotonic_ns());
                if (left == 0)
                    return true;
                step(b, true, left);
            } else {
                step(b, timeout_ms < 0);
            }
            if (b.ended.empty() && timeout_ms == 0)
                return true;
        }
    });
    const std::size_t n = std::min(max, b.ended.size());
    if (n == 0)
        return ok ? 0 : -1;
    if (!guard(false, [&] {
            hand_out(b, out, n);
            return true;
        }))
        return -1;
    if (!b.ended.empty()) // left for the next wait: a main loop on the descriptor must come back
        b.collection.waker()->ring();
    return static_cast<ssize_t>(n);
}

} // namespace procreact
