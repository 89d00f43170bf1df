// SPDX-License-Identifier: MIT
//
// procreact_future.h: one child, one result.
#include "procreact_future.h"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "boundary.hpp"
#include "procreact_exit.h"
#include "future_core.hpp"
#include "process.hpp"

using namespace procreact;

extern "C" {

ProcReact_Future procreact_initialize_future(ProcReact_Type type) noexcept
{
    return start_future(type);
}

void procreact_destroy_future(ProcReact_Future *future) noexcept
{
    if (future == nullptr)
        return;
    std::unique_ptr<FutureCore> core;
    switch (claim(*future, core)) {
    case Identity::Live:
        core.reset(); // kills and reaps the child, frees a built-in state
        future->fd = -1;
        future->state = nullptr;
        break;
    case Identity::HandBuilt:
        // As 0.1 does: the descriptor is the future's. The child is the client's.
        ::close(future->fd);
        future->fd = -1;
        break;
    case Identity::Finished: // the result belongs to the caller; nothing else is held
    case Identity::Failed:
    case Identity::Stale: // another copy owns (or owned) it: touch nothing
        break;
    }
}

namespace {

// procreact_future_get(), with the exit details going to @p info when asked.
void *get(ProcReact_Future *future, ProcReact_Status *status, ProcReact_ExitInfo *info) noexcept
{
    StatusOut out(status);
    if (info != nullptr)
        fill_unknown(future != nullptr ? *future : ProcReact_Future{}, info);
    if (future == nullptr) {
        out.set(PROCREACT_STATUS_FORK_FAIL);
        return nullptr;
    }
    reap_leftovers();
    std::unique_ptr<FutureCore> core;
    // This thread drives the child until it is collected: a cancellation
    // from another thread reaches it through the thread's waker.
    // (An eventfd for this call alone: a descriptor that lived on with the
    // thread would be one the application never asked for.)
    Waker own_waker;
    Waker *waker = own_waker.valid() ? &own_waker : nullptr;
    switch (claim(*future, core, waker)) {
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
        core = adopt_hand_built(*future);
        if (!core) {
            out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
            return nullptr;
        }
        break;
    case Identity::Live:
        break;
    }
    read_all(*core, core->serial != 0 ? waker : nullptr);
    if (core->serial != 0)
        drive_unregister(core->serial);
    if (info == nullptr)
        return finish(*future, std::move(core), out.get());
    Details details;
    void *result = finish(*future, std::move(core), out.get(), &details);
    details.fill(info);
    return result;
}

} // namespace

void *procreact_future_get(ProcReact_Future *future, ProcReact_Status *status) noexcept
{
    return get(future, status, nullptr);
}

void *procreact_future_get_with_info(ProcReact_Future *future, ProcReact_Status *status,
                                     ProcReact_ExitInfo *info) noexcept
{
    return get(future, status, info);
}

int procreact_future_info(const ProcReact_Future *future, ProcReact_ExitInfo *info) noexcept
{
    if (future == nullptr || info == nullptr) {
        errno = EINVAL;
        return -1;
    }
    Details *details = CompletionScope::find(future);
    if (details == nullptr) {
        errno = ENOENT;
        return -1;
    }
    details->fill(info);
    // Handed over once: what stays is the same minus the captured stderr.
    return 0;
}

} // extern "C"
