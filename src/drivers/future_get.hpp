// SPDX-License-Identifier: MIT
//
// A blocking get: one future driven to its end by a collection of one.
#pragma once

#include "procreact_exit.h"
#include "procreact_future.h"

namespace procreact
{

/// procreact_future_get(), with the exit details going to @p info when asked.
void *get_future(ProcReact_Future *future, ProcReact_Status *status, ProcReact_ExitInfo *info) noexcept;

} // namespace procreact
