// SPDX-License-Identifier: MIT
//
// Channel events of an iterator's futures: messages, writable, closed, in that order.
#include "channel_events.hpp"
#include "engine/room.hpp"

namespace procreact
{

void take_channel_events(Collection &c, std::vector<ChannelDelivery> &out) noexcept
{
    if (c.channel_callback() == nullptr)
        return;
    try {
        make_room(out, c.channel_ready_count());
    } catch (...) {
        return;
    }
    c.drain_channel_ready(
        [](Member &m, void *arg) {
            // Within the room reserved above: no allocation, no throw.
            static_cast<std::vector<ChannelDelivery> *>(arg)->push_back({m.future, m.chan});
        },
        &out);
}

void deliver_channel_events(std::vector<ChannelDelivery> &ready, ProcReact_ChannelCallback callback,
                            void *data) noexcept
{
    if (callback == nullptr)
        return;
    for (ChannelDelivery &d : ready) {
        ProcReact_Channel lent{d.end};
        MessagePtr message;
        while (d.end->take(message) == 0)
            callback(data, &d.future, &lent, PROCREACT_CHANNEL_MESSAGE, message.release(), 0);
        if (d.end->take_writable_event())
            callback(data, &d.future, &lent, PROCREACT_CHANNEL_WRITABLE, nullptr, 0);
        int error = 0;
        if (d.end->take_closed_event(error))
            callback(data, &d.future, &lent, PROCREACT_CHANNEL_CLOSED, nullptr, error);
    }
}

} // namespace procreact
