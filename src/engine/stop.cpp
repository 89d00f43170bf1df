// SPDX-License-Identifier: MIT
//
// The stop sequence: signals, grace periods and the phases' due times.
#include "stop.hpp"

#include "procreact_exit.h"

#include <cerrno>

#include <signal.h>
#include <unistd.h>

namespace procreact
{
namespace
{

// The stop signal goes to the child's whole group when it leads one (it
// asked for a new group, or set it up itself), so that a grandchild holding
// the pipe stops too. Only while the child is unreaped (its pid, and so its
// group id, cannot have been reused).
void send(const ChildWatch &child, int signo) noexcept
{
    if (!child.owns())
        return;
    if (child.is_our_child() && ::getpgid(child.pid()) == child.pid() && ::kill(-child.pid(), signo) == 0)
        return;
    child.signal(signo);
}

void kill_now(const ChildWatch &child, StopState &state, long long now) noexcept
{
    send(child, SIGKILL);
    state.phase = StopPhase::Killed;
    state.next_ns = add_saturating(now, kAbandonAfterNs);
}

} // namespace

long long stop_due(const StopPlan &plan, const StopState &state) noexcept
{
    switch (state.phase) {
    case StopPhase::Running:
        return plan.deadline_ns;
    case StopPhase::Signalled:
    case StopPhase::Killed:
        return state.next_ns;
    case StopPhase::Abandoned:
        break;
    }
    return 0;
}

void begin_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags, unsigned why,
                long long now) noexcept
{
    flags |= why;
    if (state.phase != StopPhase::Running)
        return;
    if (plan.signo == 0 || plan.signo == SIGKILL) {
        kill_now(child, state, now);
        return;
    }
    send(child, plan.signo);
    // SIGCONT too: a stopped child would not act on the signal otherwise.
    send(child, SIGCONT);
    if (plan.grace_ns <= 0) {
        kill_now(child, state, now);
        return;
    }
    state.phase = StopPhase::Signalled;
    state.next_ns = add_saturating(now, plan.grace_ns);
}

bool advance_stop(const ChildWatch &child, const StopPlan &plan, StopState &state, unsigned &flags,
                  long long now) noexcept
{
    const long long due = stop_due(plan, state);
    if (due == 0 || now < due)
        return false;
    switch (state.phase) {
    case StopPhase::Running:
        begin_stop(child, plan, state, flags, PROCREACT_EXIT_TIMED_OUT, now);
        return false;
    case StopPhase::Signalled:
        kill_now(child, state, now);
        return false;
    case StopPhase::Killed:
        state.phase = StopPhase::Abandoned;
        state.next_ns = 0;
        return true;
    case StopPhase::Abandoned:
        break;
    }
    return false;
}

void StopDefaults::apply(StopPlan &plan, long long now) const noexcept
{
    if (needs_now(plan))
        plan.deadline_ns = add_saturating(now, timeout_ns > 0 ? timeout_ns : 1);
    if (!plan.own_stop && stop_set) {
        plan.signo = signo;
        plan.grace_ns = grace_ns;
    }
}

bool parse_stop(int signo, double grace_seconds, long long *grace_ns) noexcept
{
    return signo >= 0 && signo <= 64 && seconds_to_ns(grace_seconds, grace_ns) && *grace_ns >= 0;
}

} // namespace procreact
