// SPDX-License-Identifier: MIT
//
// procreact_control.h for single futures, and procreact_version().
#include "procreact_control.h"

#include <cerrno>

#include "../drivers/future_table.hpp"

using namespace procreact;

namespace
{

// Runs @p visit on the core of @p future, which must be waiting to be
// collected; -1 with errno otherwise.
template <typename Visit> int with_waiting(const ProcReact_Future *future, Visit visit) noexcept
{
    if (future == nullptr) {
        errno = EINVAL;
        return -1;
    }
    auto call = [](Member &core, void *arg) { (*static_cast<Visit *>(arg))(core); };
    if (!visit_waiting(*future, call, &visit)) {
        errno = ESRCH;
        return -1;
    }
    return 0;
}

} // namespace

extern "C" {

int procreact_future_set_timeout(ProcReact_Future *future, double seconds) noexcept
{
    long long ns;
    if (!seconds_to_ns(seconds, &ns)) {
        errno = EINVAL;
        return -1;
    }
    const long long now = monotonic_ns();
    return with_waiting(future, [&](Member &core) {
        core.plan.own_deadline = ns >= 0;
        core.plan.deadline_ns = ns >= 0 ? add_saturating(now, ns > 0 ? ns : 1) : 0;
    });
}

int procreact_future_set_stop(ProcReact_Future *future, int signo, double grace_seconds) noexcept
{
    long long ns;
    if (!parse_stop(signo, grace_seconds, &ns)) {
        errno = EINVAL;
        return -1;
    }
    return with_waiting(future, [&](Member &core) {
        core.plan.own_stop = true;
        core.plan.signo = signo;
        core.plan.grace_ns = ns;
    });
}

int procreact_future_set_output_limit(ProcReact_Future *future, size_t max_bytes) noexcept
{
    return with_waiting(future, [&](Member &core) { core.plan.limit = max_bytes; });
}

int procreact_future_cancel(const ProcReact_Future *future) noexcept
{
    if (future == nullptr) {
        errno = EINVAL;
        return -1;
    }
    // Waiting to be collected: stopped from here, now (lent out of the
    // table meanwhile, so nobody claims it).
    if (cancel_waiting(*future))
        return 0;
    // Driven by an iterator or a get: its driver stops it.
    Serial serial;
    if (open_token(future->state, TokenKind::Future, &serial)) {
        WakerRef waker;
        {
            GlobalLock lock;
            waker = drive_find_locked(serial);
            if (waker) {
                try {
                    waker->post_locked(serial);
                } catch (...) {
                    errno = ENOMEM;
                    return -1;
                }
            }
        }
        if (waker) {
            waker->ring();
            return 0;
        }
    }
    errno = ESRCH;
    return -1;
}

const char *procreact_version(void) noexcept
{
    return PROCREACT_VERSION;
}

} // extern "C"
