// SPDX-License-Identifier: MIT
//
// procreact_future.h: one child, one result.
#include "procreact_future.h"

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
    ProcReact_Status ignored;
    if (finished_status(*future, &ignored))
        return; // the result belongs to the caller; nothing else is held
    if (future->pid > 0)
        abandon(*future);
}

void *procreact_future_get(ProcReact_Future *future, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    if (future == nullptr) {
        out.set(PROCREACT_STATUS_FORK_FAIL);
        return nullptr;
    }
    ProcReact_Status st;
    if (finished_status(*future, &st)) {
        out.set(st);
        return future->result;
    }
    if (future->pid <= 0) {
        out.set(PROCREACT_STATUS_FORK_FAIL);
        future->result = nullptr;
        return nullptr;
    }
    FutureCore *core = core_of(*future);
    for (;;) {
        const Pump r = pump(*future, core);
        if (r == Pump::End)
            break;
        if (r == Pump::Again)
            poll_readable(future->fd, -1);
    }
    return finish(*future, out.get());
}

} // extern "C"
