// SPDX-License-Identifier: MIT
//
// procreact_command_spawn(): a launched program becomes a future.
#include <cerrno>
#include <new>

#include "../command.hpp"
#include "../drivers/future_table.hpp"
#include "../types.hpp"

using namespace procreact;

namespace
{

ProcReact_Future failed(const ProcReact_Type &type, int error) noexcept
{
    ProcReact_Future future;
    future.pid = -1;
    future.fd = -1;
    future.type = type;
    future.result = nullptr;
    future.state = spawn_failed_marker(error); // finished: FORK_FAIL, with the reason
    errno = error;
    return future;
}

} // namespace

extern "C" {

ProcReact_Future procreact_command_spawn(const ProcReact_Command *command, ProcReact_Type type) noexcept
{
    if (command == nullptr || type.append == nullptr || type.finalize == nullptr)
        return failed(type, EINVAL);
    reap_leftovers();
    std::unique_ptr<Member> core(new (std::nothrow) Member());
    if (!core)
        return failed(type, ENOMEM);
    core->type = type;
    core->builtin = is_builtin_type(type);
    Launched launched;
    if (const int error = launch(*command, launched))
        return failed(type, error);
    core->child = launched.pidfd ? ChildWatch(launched.pid, std::move(launched.pidfd))
                                 : ChildWatch(launched.pid, ChildWatch::Pidfd::Spawn);
    // The reading state comes once the program runs: a failed spawn leaves
    // no state of a custom type behind, which nothing could free.
    if (type.initialize != nullptr) {
        core->type_state = core->builtin ? builtin_initialize(type) : type.initialize();
        if (core->type_state == nullptr && core->builtin)
            return failed(type, ENOMEM); // the core kills and reaps the child
    }
    core->out = std::move(launched.out);
    core->err = std::move(launched.err);
    core->in = std::move(launched.in);
    if (launched.chan.valid()) {
        try {
            core->chan = std::make_shared<ChannelEnd>(std::move(launched.chan), command->channel_mode);
        } catch (...) {
            return failed(type, ENOMEM); // the core kills and reaps the program
        }
    }
    if (core->in.valid())
        core->input = command->stdin_bytes;
    core->details.start_ns = launched.start_ns;
    return publish_future(std::move(core));
}

} // extern "C"
