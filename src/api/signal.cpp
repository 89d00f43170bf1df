// SPDX-License-Identifier: MIT
//
// procreact_signal.h: the SIGCHLD handler and the main-loop step.
#include "procreact_signal.h"

#include "../drivers/pid_runs.hpp"
#include "../os/sigchld.hpp"

using namespace procreact;

extern "C" {

int procreact_register_signal_handler(void) noexcept
{
    return install_sigchld_counter();
}

void procreact_complete_all_finished_processes(ProcReact_PidIterator *iterator) noexcept
{
    complete_finished_by_hand(iterator);
}

} // extern "C"
