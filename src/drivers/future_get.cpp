// SPDX-License-Identifier: MIT
//
// A blocking get: claims the future, drives it in a collection of one,
// finishes it.
#include "future_get.hpp"

#include <new>
#include <optional>
#include <vector>

#include "../engine/collection.hpp"
#include "../engine/boundary.hpp"
#include "future_finish.hpp"
#include "future_table.hpp"

namespace procreact
{
namespace
{

// Drives @p m to its end in @p one. Returns the member, done, or null when
// waiting itself failed (@p failure says how; the child is killed and reaped).
std::unique_ptr<Member> drive(Collection &one, std::unique_ptr<Member> m, ProcReact_Status *failure) noexcept
{
    try {
        if (!one.add(m))
            return m; // cannot be watched: finished without reading further
        for (;;) {
            // Nothing but the exit left to wait for, and nobody to interrupt
            // the wait: the finish reaps it with one blocking waitid (no
            // poll of the pidfd first).
            if (std::unique_ptr<Member> last = one.take_if_only_exit_left())
                return last;
            one.step(true);
            if (std::unique_ptr<Member> done = one.pop_done())
                return done;
        }
    } catch (const RunFailure &f) {
        *failure = f.status;
    } catch (...) {
        *failure = PROCREACT_STATUS_OUT_OF_MEMORY;
    }
    one.take_all(); // destroyed: killed and reaped
    return nullptr;
}

} // namespace

void *get_future(ProcReact_Future *future, ProcReact_Status *status, ProcReact_ExitInfo *info) noexcept
{
    StatusOut out(status);
    if (info != nullptr)
        fill_unknown(future != nullptr ? *future : ProcReact_Future{}, info);
    if (future == nullptr) {
        out.set(PROCREACT_STATUS_FORK_FAIL);
        return nullptr;
    }
    reap_leftovers();
    // This thread drives the child until it is collected: a cancellation
    // from another thread reaches it through the collection's waker. (An
    // eventfd for this call alone: a descriptor kept with the thread would
    // be one the application never asked for. None at all while the process
    // has one thread: engine/waker.hpp.)
    std::optional<Collection> one;
    try {
        one.emplace(true);
    } catch (...) {
        // Out of memory or descriptors for a waker: finished without one.
    }
    std::unique_ptr<Member> m;
    switch (claim(*future, m, one ? &one->waker() : nullptr)) {
    case Identity::Finished: {
        ProcReact_Status st;
        finished_status(*future, &st);
        out.set(st);
        return future->result;
    }
    case Identity::Failed:
        out.set(PROCREACT_STATUS_FORK_FAIL);
        future->result = nullptr;
        return nullptr;
    case Identity::Stale:
        // Another copy of this future got its result (or destroyed it): as
        // in 0.1, this one can no longer wait for the child.
        out.set(PROCREACT_STATUS_WAIT_FAIL);
        return nullptr;
    case Identity::HandBuilt:
        m = adopt_hand_built(*future);
        if (!m) {
            out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
            return nullptr;
        }
        break;
    case Identity::Live:
        break;
    }
    const Serial serial = m->serial;
    ProcReact_Status failure = PROCREACT_STATUS_OK;
    if (one)
        m = drive(*one, std::move(m), &failure);
    if (serial != 0)
        drive_unregister(serial); // when it was never in the collection
    if (!m) {
        future->result = nullptr;
        mark_finished(*future, failure);
        out.set(failure);
        return nullptr;
    }
    if (info == nullptr)
        return finish(*future, std::move(m), out.get());
    Details details;
    void *result = finish(*future, std::move(m), out.get(), &details);
    details.fill(info);
    return result;
}

} // namespace procreact
