// SPDX-License-Identifier: MIT
//
// Starting a forked future (procreact_initialize_future()).
#pragma once

#include "procreact_future.h"

namespace procreact
{

/// Makes a future: pipe, fork, member. In the child it returns pid 0 and
/// the write end; in the parent the listed future, or pid -1 with errno set.
ProcReact_Future start_future(const ProcReact_Type &type) noexcept;

} // namespace procreact
