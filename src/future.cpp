// SPDX-License-Identifier: MIT
//
// procreact_future.h: one child, one result.
#include "procreact_future.h"

#include <unistd.h>

#include "boundary.hpp"
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

void *procreact_future_get(ProcReact_Future *future, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    if (future == nullptr) {
        out.set(PROCREACT_STATUS_FORK_FAIL);
        return nullptr;
    }
    reap_leftovers();
    std::unique_ptr<FutureCore> core;
    switch (claim(*future, core)) {
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
    read_all(*core);
    return finish(*future, std::move(core), out.get());
}

} // extern "C"
