// SPDX-License-Identifier: MIT
//
// procreact_future.h: one child, one result.
#include "procreact_future.h"

#include <cerrno>
#include <memory>

#include <unistd.h>

#include "../drivers/future_get.hpp"
#include "../drivers/future_start.hpp"
#include "../drivers/future_table.hpp"
#include "procreact_exit.h"

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
    std::unique_ptr<Member> m;
    switch (claim(*future, m)) {
    case Identity::Live:
        m.reset(); // kills and reaps the child, frees a built-in state
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
    return get_future(future, status, nullptr);
}

void *procreact_future_get_with_info(ProcReact_Future *future, ProcReact_Status *status,
                                     ProcReact_ExitInfo *info) noexcept
{
    return get_future(future, status, info);
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
    // Handed over once: what stays is the same minus the captured stderr.
    details->fill(info);
    return 0;
}

} // extern "C"
