// SPDX-License-Identifier: MIT
//
// A launched program becomes an engine member: its child, pipes and reading state.
#include "spawn_member.hpp"

#include <cerrno>
#include <new>

#include "../types.hpp"

namespace procreact
{

int spawn_member(const ProcReact_Command &command, char *const *argv, const ProcReact_Type &type,
                 std::unique_ptr<Member> &member) noexcept
{
    std::unique_ptr<Member> core(new (std::nothrow) Member());
    if (!core)
        return ENOMEM;
    core->type = type;
    core->builtin = is_builtin_type(type);
    Launched launched;
    if (const int error = launch(command, argv, launched))
        return error;
    core->child = launched.pidfd ? ChildWatch(launched.pid, std::move(launched.pidfd))
                                 : ChildWatch(launched.pid, ChildWatch::Pidfd::Spawn);
    // The reading state comes once the program runs: a failed spawn leaves
    // no state of a custom type behind, which nothing could free.
    if (type.initialize != nullptr) {
        core->type_state = core->builtin ? builtin_initialize(type) : type.initialize();
        if (core->type_state == nullptr && core->builtin)
            return ENOMEM; // the core kills and reaps the child
    }
    core->out = std::move(launched.out);
    core->out_blocks = core->out.valid(); // made by make_pipe(): blocking
    core->err = std::move(launched.err);
    core->in = std::move(launched.in);
    if (launched.chan.valid()) {
        try {
            core->chan = std::make_shared<ChannelEnd>(std::move(launched.chan), command.channel_mode);
        } catch (...) {
            return ENOMEM; // the core kills and reaps the program
        }
    }
    if (core->in.valid())
        core->input = command.stdin_bytes;
    core->details.start_ns = launched.start_ns;
    member = std::move(core);
    return 0;
}

} // namespace procreact
