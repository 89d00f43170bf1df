// SPDX-License-Identifier: MIT
//
// procreact_channel.h: channels of commands and futures (attaching, finding the parent's end).
#include <cerrno>
#include <new>

#include "../command.hpp"
#include "../drivers/future_iterators.hpp"
#include "../drivers/future_start.hpp"
#include "../drivers/future_table.hpp"
#include "procreact_channel.h"

using namespace procreact;

namespace
{

void copy_channel(Member &m, void *arg)
{
    // Under the table lock: only a reference count changes.
    static_cast<ProcReact_Channel *>(arg)->end = m.chan;
}

} // namespace

extern "C" {

int procreact_command_set_channel(ProcReact_Command *command, ProcReact_ChannelMode mode) noexcept
{
    if (command == nullptr || (mode != PROCREACT_CHANNEL_NONE && mode != PROCREACT_CHANNEL_FRAMED &&
                               mode != PROCREACT_CHANNEL_LINES)) {
        errno = EINVAL;
        return -1;
    }
    command->channel_mode = mode;
    return 0;
}

ProcReact_Future procreact_initialize_future_with_channel(ProcReact_Type type, ProcReact_ChannelMode mode,
                                                          ProcReact_Channel **child_end) noexcept
{
    if (mode != PROCREACT_CHANNEL_FRAMED && mode != PROCREACT_CHANNEL_LINES) {
        if (child_end != nullptr)
            *child_end = nullptr;
        ProcReact_Future future = empty_future(type);
        errno = EINVAL;
        return future;
    }
    return start_future(type, mode, child_end);
}

ProcReact_Channel *procreact_future_channel(const ProcReact_Future *future) noexcept
{
    if (future == nullptr) {
        errno = EINVAL;
        return nullptr;
    }
    auto *handle = new (std::nothrow) ProcReact_Channel();
    if (handle == nullptr) {
        errno = ENOMEM;
        return nullptr;
    }
    if (!visit_waiting(*future, copy_channel, handle) || !handle->end) {
        delete handle;
        errno = ENOENT;
        return nullptr;
    }
    return handle;
}

int procreact_future_iterator_set_channel_callback(ProcReact_FutureIterator *iterator,
                                                   ProcReact_ChannelCallback callback, void *data) noexcept
{
    return set_channel_callback(iterator, callback, data);
}

} // extern "C"
