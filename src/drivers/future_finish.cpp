// SPDX-License-Identifier: MIT
//
// Finishing a future: reaping, the type's finalize, the completion marker.
#include "future_finish.hpp"

#include "../types.hpp"
#include "future_table.hpp"

namespace procreact
{
namespace
{

// After a custom finalize: the child is reaped (by the finalize), reaped now
// (it has exited), or left to reap_leftovers() (it still runs).
void settle_child(ChildWatch &child) noexcept
{
    if (!child.owns())
        return;
    // One look that reaps: 1, reaped now; -1 (ECHILD), the finalize reaped
    // it (the watch lets go); 0, it still runs.
    if (child.reap(nullptr, false) != 0)
        return;
    hand_to_reaper(std::move(child));
}

} // namespace

void *finish(ProcReact_Future &future, std::unique_ptr<Member> member, ProcReact_Status *status,
             Details *details) noexcept
{
    Member &m = *member;
    // Everything closes before anything waits: a child still writing (or
    // still reading its input) must end rather than block.
    end_streams(m);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    void *result = nullptr;
    Details &d = m.details;
    if (m.type.finalize == nullptr) {
        st = PROCREACT_STATUS_FORK_FAIL;
    } else if (m.builtin) {
        // The library reaps its own child, through the watch.
        Outcome outcome;
        if (m.child.reap(&d.exit, true) == 1) {
            d.have_exit = true;
            d.end_ns = monotonic_ns();
            outcome = outcome_of(d.exit.wstatus);
            outcome.keep_output = d.flags != 0; // stopped by the library: what arrived is kept
        } else {
            outcome.status = PROCREACT_STATUS_WAIT_FAIL;
        }
        result = finalize_builtin(m.type, m.type_state, outcome, &st);
        m.type_state = nullptr;
    } else {
        // A custom finalize waits for the pid itself, and is promised a
        // child that has exited (its wait returns at once). Watching the
        // child through a pidfd first (while it is certainly unreaped) lets
        // the library tell afterwards, exactly, whether it is left to reap.
        m.child.ensure_pidfd();
        if (!m.exited) // a collection that handed it over saw it exit
            m.child.wait_exited();
        if (m.child.peek(&d.exit) == 1) {
            d.have_exit = true;
            d.end_ns = monotonic_ns();
        }
        result = m.type.finalize(m.type_state, future.pid, &st);
        m.type_state = nullptr;
        settle_child(m.child);
    }
    if (details != nullptr)
        *details = std::move(d);
    future.result = result;
    mark_finished(future, st);
    if (status != nullptr)
        *status = st;
    return result;
}

} // namespace procreact
