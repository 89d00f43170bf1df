// SPDX-License-Identifier: MIT
//
// procreact_pid.h: waiting for one process and interpreting its status.
#include "procreact_pid.h"

#include <sys/wait.h>

#include "../engine/boundary.hpp"
#include "../os/child_watch.hpp"

using procreact::StatusOut;

extern "C" {

int procreact_retrieve_exit_status(pid_t pid, int wstatus, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    if (pid == -1) {
        out.set(PROCREACT_STATUS_WAIT_FAIL);
        return -1;
    }
    if (WIFEXITED(wstatus)) {
        out.set(PROCREACT_STATUS_OK);
        return WEXITSTATUS(wstatus);
    }
    out.set(PROCREACT_STATUS_ABNORMAL_TERMINATION);
    return -1;
}

ProcReact_bool procreact_retrieve_boolean(pid_t pid, int wstatus, ProcReact_Status *status) noexcept
{
    return procreact_retrieve_exit_status(pid, wstatus, status) == 0;
}

int procreact_wait_and_retrieve(pid_t pid, ProcReact_RetrieveResult retrieve, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    if (pid == -1) {
        out.set(PROCREACT_STATUS_FORK_FAIL);
        return -1;
    }
    if (pid <= 0) {
        // 0 and other negative values name process groups: waiting for them
        // could reap children that are not the caller's to reap.
        out.set(PROCREACT_STATUS_WAIT_FAIL);
        return -1;
    }
    int wstatus = 0;
    if (procreact::waitpid_retry(pid, &wstatus, 0) != pid) {
        out.set(PROCREACT_STATUS_WAIT_FAIL);
        return -1;
    }
    if (retrieve == nullptr)
        retrieve = procreact_retrieve_exit_status;
    return retrieve(pid, wstatus, out.get());
}

int procreact_wait_for_exit_status(pid_t pid, ProcReact_Status *status) noexcept
{
    return procreact_wait_and_retrieve(pid, procreact_retrieve_exit_status, status);
}

int procreact_wait_for_boolean(pid_t pid, ProcReact_Status *status) noexcept
{
    // A failed wait returns -1 from procreact_wait_and_retrieve(): as a
    // boolean that would read as true, so failures are false here.
    return procreact_wait_and_retrieve(pid, procreact_retrieve_boolean, status) > 0;
}

} // extern "C"
