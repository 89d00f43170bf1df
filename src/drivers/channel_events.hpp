// SPDX-License-Identifier: MIT
//
// Channel events of an iterator's futures: taken from the collection, then handed to the callback.
#pragma once

#include <memory>
#include <vector>

#include "../engine/collection.hpp"
#include "procreact_channel.h"

namespace procreact
{

/// One future's channel, ready for its callback (kept alive by the
/// reference even if a callback destroys the collection).
struct ChannelDelivery {
    ProcReact_Future future;
    std::shared_ptr<ChannelEnd> end;
};

/// Takes the members with channel events out of @p c's list, before any
/// callback runs. Out of memory: they stay listed, for the next step.
void take_channel_events(Collection &c, std::vector<ChannelDelivery> &out) noexcept;

/// Calls @p callback for each message, writable and closed event of @p ready.
void deliver_channel_events(std::vector<ChannelDelivery> &ready, ProcReact_ChannelCallback callback,
                            void *data) noexcept;

} // namespace procreact
