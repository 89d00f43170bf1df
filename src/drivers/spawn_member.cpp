// SPDX-License-Identifier: MIT
//
// A launched program becomes an engine member: its child, pipes and reading state.
#include "spawn_member.hpp"

#include <cerrno>
#include <new>

#include "../os/threads.hpp"
#include "../types.hpp"

namespace procreact
{

namespace
{

// Whether the program's pidfd is made with it: for a wait on descriptors,
// and for a channel (a worker, watched with its messages) or a stream that
// a collection waiting by pid will read (it then waits on descriptors
// while the program runs). Where nobody said, a process of several threads
// waits on descriptors (a get included: another thread may cancel it).
bool pidfd_at_spawn(const ProcReact_Command &c, ExitWait wait) noexcept
{
    if (wait == ExitWait::Descriptors || c.channel_mode != PROCREACT_CHANNEL_NONE)
        return true;
    if (wait == ExitWait::Unknown)
        return !single_threaded();
    return wait == ExitWait::ByPid &&
           (c.stdout_mode == PROCREACT_OUTPUT_CAPTURE || c.stderr_mode == PROCREACT_OUTPUT_CAPTURE ||
            c.stdin_mode == PROCREACT_STDIN_BYTES);
}

} // namespace

int spawn_member(const ProcReact_Command &command, char *const *argv, const ProcReact_Type &type,
                 std::unique_ptr<Member> &member, ExitWait wait) noexcept
{
    std::unique_ptr<Member> core(new (std::nothrow) Member());
    if (!core)
        return ENOMEM;
    core->type = type;
    core->builtin = is_builtin_type(type);
    Launched launched;
    launched.want_pidfd = pidfd_at_spawn(command, wait);
    if (const int error = launch(command, argv, launched))
        return error;
    core->child = launched.pidfd      ? ChildWatch(launched.pid, std::move(launched.pidfd))
                  : launched.want_pidfd ? ChildWatch(launched.pid, ChildWatch::Pidfd::Spawn)
                                        : ChildWatch(launched.pid, ChildWatch::Pidfd::Later);
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
