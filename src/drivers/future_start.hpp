// SPDX-License-Identifier: MIT
//
// Starting a forked future (procreact_initialize_future()).
#pragma once

#include "procreact_channel.h"
#include "procreact_future.h"

namespace procreact
{

/// Makes a future: pipe, fork, member. In the child it returns pid 0 and
/// the write end; in the parent the listed future, or pid -1 with errno set.
/// With a @p mode other than PROCREACT_CHANNEL_NONE, the child also gets a
/// channel: its handle in @p child_end (NULL in the parent, whose end is the
/// member's).
ProcReact_Future start_future(const ProcReact_Type &type, ProcReact_ChannelMode mode = PROCREACT_CHANNEL_NONE,
                              ProcReact_Channel **child_end = nullptr) noexcept;

} // namespace procreact
